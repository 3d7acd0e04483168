#include "drivers/libvirt/domain_xml.h"

#include <algorithm>
#include <array>
#include <string>

#include "drivers/libvirt/xml_document.h"

namespace virtsnap::drivers::libvirt {

namespace {

DriverError invalid(std::string message) {
  return DriverError{DriverErrorKind::Invalid, 0, std::move(message), {}};
}

bool oneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// Device names like vda, sdb, hdc, vdaa: letters only, short.
bool isDeviceName(std::string_view name) {
  return name.size() >= 3 && name.size() <= 8 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::optional<DriverError> validate(const DomainSpec& spec) {
  if (spec.name.empty() || spec.name.size() > 200 || spec.name.find('/') != std::string::npos) {
    return invalid("domain name '" + spec.name + "' must be 1 to 200 characters without '/'");
  }
  if (spec.type.empty()) {
    return invalid("domain type must not be empty");
  }
  if (spec.vcpus == 0 || spec.vcpus > 4096) {
    return invalid("vcpus must be between 1 and 4096, not " + std::to_string(spec.vcpus));
  }
  if (spec.memoryBytes < (1u << 20)) {
    return invalid("memory must be at least 1Mi, not " + std::to_string(spec.memoryBytes) + " bytes");
  }
  std::vector<std::string_view> targets;
  for (const DiskSpec& disk : spec.disks) {
    if (!isDeviceName(disk.target)) {
      return invalid("disk name '" + disk.target + "' is not a device name like vda");
    }
    if (std::find(targets.begin(), targets.end(), disk.target) != targets.end()) {
      return invalid("disk name '" + disk.target + "' is used twice");
    }
    targets.push_back(disk.target);
    if (!oneOf(disk.bus, {"virtio", "sata", "scsi", "ide", "usb"})) {
      return invalid("disk '" + disk.target + "' has an unknown bus '" + disk.bus + "'");
    }
    if (!oneOf(disk.format, {"qcow2", "raw"})) {
      return invalid("disk '" + disk.target + "' has an unknown format '" + disk.format + "'");
    }
    if (disk.path.empty() || disk.path.front() != '/') {
      return invalid("disk '" + disk.target + "' needs an absolute path");
    }
  }
  for (const NetworkSpec& net : spec.networks) {
    if (net.network.empty() == net.bridge.empty()) {
      return invalid("a network interface needs exactly one of network or bridge");
    }
    if (!oneOf(net.model, {"virtio", "e1000", "e1000e", "rtl8139"})) {
      return invalid("network model '" + net.model + "' is not one of virtio, e1000, e1000e, rtl8139");
    }
  }
  return std::nullopt;
}

std::optional<DriverError> validateOwner(const Ownership& owner) {
  if (owner.namespaceName.empty() || owner.name.empty()) {
    return invalid("an owner needs a namespace and a name");
  }
  return std::nullopt;
}

void setOwnerAttributes(xmlNodePtr node, const Ownership& owner) {
  xml::setAttribute(node, "namespace", owner.namespaceName);
  xml::setAttribute(node, "name", owner.name);
  xml::setAttribute(node, "uid", owner.uid);
}

}  // namespace

Expected<std::string, DriverError> renderDomainXml(const DomainSpec& spec) {
  if (auto error = validate(spec)) {
    return *error;
  }
  xml::Document doc = xml::newDocument("domain");
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  xml::setAttribute(root, "type", spec.type);
  xml::addChild(root, "name", spec.name);
  if (spec.uuid) {
    xml::addChild(root, "uuid", *spec.uuid);
  }
  if (spec.owner) {
    if (auto error = validateOwner(*spec.owner)) {
      return *error;
    }
    xmlNodePtr owner = xml::addChild(xml::addChild(root, "metadata"), "owner");
    xmlSetNs(owner, xmlNewNs(owner, reinterpret_cast<const xmlChar*>(std::string(kOwnerNamespaceUri).c_str()),
                             reinterpret_cast<const xmlChar*>(std::string(kOwnerPrefix).c_str())));
    setOwnerAttributes(owner, *spec.owner);
  }
  // KiB, rounded up: libvirt's default unit, understood by every driver.
  xml::setAttribute(xml::addChild(root, "memory", std::to_string((spec.memoryBytes + 1023) / 1024)), "unit",
                    "KiB");
  xml::addChild(root, "vcpu", std::to_string(spec.vcpus));

  xmlNodePtr os = xml::addChild(root, "os");
  if (spec.firmware == Firmware::Efi) {
    xml::setAttribute(os, "firmware", "efi");
  }
  xmlNodePtr osType = xml::addChild(os, "type", "hvm");
  xml::setAttribute(osType, "arch", spec.arch);
  if (!spec.machine.empty()) {
    xml::setAttribute(osType, "machine", spec.machine);
  }
  xml::setAttribute(xml::addChild(os, "boot"), "dev", "hd");
  xml::addChild(xml::addChild(root, "features"), "acpi");

  xmlNodePtr devices = xml::addChild(root, "devices");
  for (const DiskSpec& disk : spec.disks) {
    xmlNodePtr node = xml::addChild(devices, "disk");
    xml::setAttribute(node, "type", "file");
    xml::setAttribute(node, "device", "disk");
    xmlNodePtr driver = xml::addChild(node, "driver");
    xml::setAttribute(driver, "name", "qemu");
    xml::setAttribute(driver, "type", disk.format);
    xml::setAttribute(xml::addChild(node, "source"), "file", disk.path);
    xmlNodePtr target = xml::addChild(node, "target");
    xml::setAttribute(target, "dev", disk.target);
    xml::setAttribute(target, "bus", disk.bus);
    if (disk.readOnly) {
      xml::addChild(node, "readonly");
    }
  }
  for (const NetworkSpec& net : spec.networks) {
    xmlNodePtr node = xml::addChild(devices, "interface");
    const bool bridged = !net.bridge.empty();
    xml::setAttribute(node, "type", bridged ? "bridge" : "network");
    xml::setAttribute(xml::addChild(node, "source"), bridged ? "bridge" : "network",
                      bridged ? net.bridge : net.network);
    xml::setAttribute(xml::addChild(node, "model"), "type", net.model);
  }
  xml::setAttribute(xml::addChild(devices, "serial"), "type", "pty");
  xml::setAttribute(xml::addChild(devices, "console"), "type", "pty");
  return xml::serialize(doc.get());
}

Expected<std::string, DriverError> renderOwnerElement(const Ownership& owner) {
  if (auto error = validateOwner(owner)) {
    return *error;
  }
  xml::Document doc = xml::newDocument("owner");
  setOwnerAttributes(xmlDocGetRootElement(doc.get()), owner);
  return xml::serialize(doc.get());
}

Expected<Ownership, DriverError> parseOwnerElement(std::string_view text) {
  xml::Document doc = xml::parse(text);
  if (!doc) {
    return invalid("the ownership element is not well-formed XML");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!xml::isElement(root, "owner")) {
    return invalid("the ownership element is not <owner>");
  }
  Ownership owner{xml::attribute(root, "namespace").value_or(""), xml::attribute(root, "name").value_or(""),
                  xml::attribute(root, "uid").value_or("")};
  if (owner.namespaceName.empty() || owner.name.empty()) {
    return invalid("the ownership element lacks a namespace or a name");
  }
  return owner;
}

}  // namespace virtsnap::drivers::libvirt
