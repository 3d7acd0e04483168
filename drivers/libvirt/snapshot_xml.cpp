#include "drivers/libvirt/snapshot_xml.h"

#include <charconv>

#include "drivers/libvirt/xml_document.h"

namespace virtsnap::drivers::libvirt {

namespace {

DriverError invalid(std::string message) {
  return DriverError{DriverErrorKind::Invalid, 0, std::move(message), {}};
}

bool isExternalMode(const std::string& mode) {
  return mode == "external";
}

}  // namespace

Expected<std::string, DriverError> renderSnapshotXml(const SnapshotRequest& request) {
  if (request.name.empty()) {
    return invalid("a snapshot needs a name");
  }
  xml::Document doc = xml::newDocument("domainsnapshot");
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  xml::addChild(root, "name", request.name);
  if (!request.description.empty()) {
    xml::addChild(root, "description", request.description);
  }
  if (request.location == SnapshotLocation::External) {
    xmlNodePtr memory = xml::addChild(root, "memory");
    xml::setAttribute(memory, "snapshot", request.memory ? "external" : "no");
    if (request.memory && !request.memoryFile.empty()) {
      xml::setAttribute(memory, "file", request.memoryFile);
    }
  }
  if (!request.disks.empty()) {
    xmlNodePtr disks = xml::addChild(root, "disks");
    for (const SnapshotDisk& disk : request.disks) {
      if (disk.name.empty()) {
        return invalid("a snapshot disk needs a name");
      }
      xmlNodePtr node = xml::addChild(disks, "disk");
      xml::setAttribute(node, "name", disk.name);
      if (!disk.snapshot.empty()) {
        xml::setAttribute(node, "snapshot", disk.snapshot);
      }
      if (!disk.file.empty()) {
        xml::setAttribute(xml::addChild(node, "source"), "file", disk.file);
      }
    }
  }
  return xml::serialize(doc.get());
}

Expected<SnapshotDefinition, DriverError> parseSnapshotXml(std::string_view text) {
  xml::Document doc = xml::parse(text);
  if (!doc) {
    return invalid("snapshot XML is not well-formed");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!xml::isElement(root, "domainsnapshot")) {
    return invalid("snapshot XML has no <domainsnapshot> root element");
  }
  SnapshotDefinition def;
  def.name = xml::text(xml::child(root, "name"));
  if (def.name.empty()) {
    return invalid("snapshot XML has no <name>");
  }
  def.description = xml::text(xml::child(root, "description"));
  if (xmlNodePtr parent = xml::child(root, "parent")) {
    std::string parentName = xml::text(xml::child(parent, "name"));
    if (parentName.empty()) {
      return invalid("snapshot '" + def.name + "' has a <parent> without a <name>");
    }
    def.parent = std::move(parentName);
  }
  def.state = xml::text(xml::child(root, "state"));
  if (xmlNodePtr created = xml::child(root, "creationTime")) {
    const std::string value = xml::text(created);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), def.creationTime);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return invalid("snapshot '" + def.name + "' has a creationTime that is not a number: '" + value + "'");
    }
  }
  def.memory = xml::attribute(xml::child(root, "memory"), "snapshot").value_or("");
  bool external = isExternalMode(def.memory);
  for (xmlNodePtr n = xml::child(xml::child(root, "disks"), "disk"); n != nullptr; n = n->next) {
    if (!xml::isElement(n, "disk")) {
      continue;
    }
    SnapshotDisk disk;
    disk.name = xml::attribute(n, "name").value_or("");
    disk.snapshot = xml::attribute(n, "snapshot").value_or("");
    disk.file = xml::attribute(xml::child(n, "source"), "file").value_or("");
    external = external || isExternalMode(disk.snapshot);
    def.disks.push_back(std::move(disk));
  }
  def.location = external ? SnapshotLocation::External : SnapshotLocation::Internal;
  if (xmlNodePtr domain = xml::child(root, "domain")) {
    def.domainName = xml::text(xml::child(domain, "name"));
    def.domainUuid = xml::text(xml::child(domain, "uuid"));
  }
  def.xml = std::string(text);
  return def;
}

}  // namespace virtsnap::drivers::libvirt
