#include "drivers/libvirt/capabilities_xml.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "drivers/libvirt/xml_document.h"

namespace virtsnap::drivers::libvirt {

namespace {

DriverError invalid(std::string message) {
  return DriverError{DriverErrorKind::Invalid, 0, std::move(message), {}};
}

std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return "";
  }
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

Expected<GuestOffers, DriverError> parseGuestOffers(std::string_view text, std::string_view osType) {
  xml::Document doc = xml::parse(text);
  if (!doc) {
    return invalid("the host capabilities are not well-formed XML");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!xml::isElement(root, "capabilities")) {
    return invalid("the host capabilities are not <capabilities>");
  }
  std::map<std::string, std::set<std::string>> offered;
  for (xmlNodePtr guest = root->children; guest != nullptr; guest = guest->next) {
    if (!xml::isElement(guest, "guest") || trimmed(xml::text(xml::child(guest, "os_type"))) != osType) {
      continue;
    }
    for (xmlNodePtr arch = guest->children; arch != nullptr; arch = arch->next) {
      const std::string name = xml::isElement(arch, "arch") ? xml::attribute(arch, "name").value_or("") : "";
      if (name.empty()) {
        continue;
      }
      for (xmlNodePtr domain = arch->children; domain != nullptr; domain = domain->next) {
        const std::string type =
            xml::isElement(domain, "domain") ? xml::attribute(domain, "type").value_or("") : "";
        if (!type.empty()) {
          offered[name].insert(type);
        }
      }
    }
  }
  GuestOffers offers;
  for (auto& [arch, types] : offered) {
    offers.push_back(GuestOffer{arch, std::vector<std::string>(types.begin(), types.end())});
  }
  return offers;
}

}  // namespace virtsnap::drivers::libvirt
