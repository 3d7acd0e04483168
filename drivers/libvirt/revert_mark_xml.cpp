#include "drivers/libvirt/revert_mark_xml.h"

#include <utility>

#include "drivers/libvirt/xml_document.h"

namespace virtsnap::drivers::libvirt {

namespace {

DriverError invalid(std::string message) {
  return DriverError{DriverErrorKind::Invalid, 0, std::move(message), {}};
}

}  // namespace

Expected<std::string, DriverError> renderRevertMarkElement(const std::string& uid) {
  if (uid.empty()) {
    return invalid("a revert mark needs the SnapshotRevert's uid");
  }
  xml::Document doc = xml::newDocument("revert");
  xml::setAttribute(xmlDocGetRootElement(doc.get()), "uid", uid);
  return xml::serialize(doc.get());
}

Expected<std::string, DriverError> parseRevertMarkElement(std::string_view text) {
  xml::Document doc = xml::parse(text);
  if (!doc) {
    return invalid("the revert mark is not well-formed XML");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!xml::isElement(root, "revert")) {
    return invalid("the revert mark is not <revert>");
  }
  std::string uid = xml::attribute(root, "uid").value_or("");
  if (uid.empty()) {
    return invalid("the revert mark has no uid");
  }
  return uid;
}

}  // namespace virtsnap::drivers::libvirt
