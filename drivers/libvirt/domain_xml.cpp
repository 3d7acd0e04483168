#include "drivers/libvirt/domain_xml.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

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
  if (spec.name.empty() || spec.name.size() > kMaxDomainNameLength ||
      spec.name.find('/') != std::string::npos) {
    return invalid("domain name '" + spec.name + "' must be 1 to " + std::to_string(kMaxDomainNameLength) +
                   " characters without '/'");
  }
  if (spec.type.empty()) {
    return invalid("domain type must not be empty");
  }
  if (spec.vcpus == 0 || spec.vcpus > 4096) {
    return invalid("vcpus must be between 1 and 4096, not " + std::to_string(spec.vcpus));
  }
  if (spec.memoryBytes < (1u << 20) || spec.memoryBytes > kMaxMemoryBytes) {
    return invalid("memory must be between 1Mi and " + std::to_string(kMaxMemoryBytes) + " bytes, not " +
                   std::to_string(spec.memoryBytes));
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
    if (std::find(kNetworkModels.begin(), kNetworkModels.end(), net.model) == kNetworkModels.end()) {
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

namespace {

// libvirt's memory units (docs: formatdomain, Memory Allocation) as bytes per unit.
std::optional<std::uint64_t> bytesPerUnit(std::string_view unit) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 14> kUnits{{
      {"b", 1},
      {"bytes", 1},
      {"KB", 1000},
      {"k", 1024},
      {"KiB", 1024},
      {"MB", 1000 * 1000},
      {"M", 1024 * 1024},
      {"MiB", 1024 * 1024},
      {"GB", 1000 * 1000 * 1000},
      {"G", 1024 * 1024 * 1024},
      {"GiB", 1024 * 1024 * 1024},
      {"TB", 1000ull * 1000 * 1000 * 1000},
      {"T", 1024ull * 1024 * 1024 * 1024},
      {"TiB", 1024ull * 1024 * 1024 * 1024},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (name == unit) {
      return factor;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parseCount(const std::string& text) {
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(text);
}

DiskSpec parseDisk(xmlNodePtr node) {
  DiskSpec disk;
  xmlNodePtr target = xml::child(node, "target");
  disk.target = xml::attribute(target, "dev").value_or("");
  disk.bus = xml::attribute(target, "bus").value_or("");
  disk.format = xml::attribute(xml::child(node, "driver"), "type").value_or("");
  xmlNodePtr source = xml::child(node, "source");
  if (xml::attribute(node, "type").value_or("") == "file" &&
      xml::attribute(node, "device").value_or("disk") == "disk") {
    disk.path = xml::attribute(source, "file").value_or("");
  } else {
    // Not a kind virtsnap defines: described so that it never equals one of ours.
    disk.path = xml::attribute(node, "device").value_or("disk") + ":" +
                xml::attribute(source, "file").value_or(xml::attribute(source, "dev").value_or(""));
  }
  disk.readOnly = xml::child(node, "readonly") != nullptr;
  return disk;
}

NetworkSpec parseInterface(xmlNodePtr node) {
  NetworkSpec net;
  const std::string type = xml::attribute(node, "type").value_or("");
  xmlNodePtr source = xml::child(node, "source");
  if (type == "bridge") {
    net.bridge = xml::attribute(source, "bridge").value_or("");
  } else if (type == "network") {
    net.network = xml::attribute(source, "network").value_or("");
  } else {
    net.network = type + ":";  // a kind virtsnap never defines
  }
  net.model = xml::attribute(xml::child(node, "model"), "type").value_or("");
  return net;
}

}  // namespace

Expected<DomainSpec, DriverError> parseDomainXml(std::string_view text) {
  xml::Document doc = xml::parse(text);
  if (!doc) {
    return invalid("the domain definition is not well-formed XML");
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!xml::isElement(root, "domain")) {
    return invalid("the domain definition is not a <domain>");
  }
  DomainSpec spec;
  spec.type = xml::attribute(root, "type").value_or("");
  spec.name = xml::text(xml::child(root, "name"));
  if (xmlNodePtr uuid = xml::child(root, "uuid")) {
    spec.uuid = xml::text(uuid);
  }
  xmlNodePtr memory = xml::child(root, "memory");
  const auto amount = parseCount(xml::text(memory));
  const auto unit = bytesPerUnit(xml::attribute(memory, "unit").value_or("KiB"));
  if (!amount || !unit) {
    return invalid("the domain definition's <memory> is not a size libvirt writes");
  }
  spec.memoryBytes = *amount * *unit;
  const auto vcpus = parseCount(xml::text(xml::child(root, "vcpu")));
  if (!vcpus || *vcpus > 4096) {
    return invalid("the domain definition's <vcpu> is not a count");
  }
  spec.vcpus = static_cast<unsigned>(*vcpus);
  xmlNodePtr os = xml::child(root, "os");
  spec.firmware = xml::attribute(os, "firmware").value_or("") == "efi" ? Firmware::Efi : Firmware::Bios;
  xmlNodePtr osType = xml::child(os, "type");
  spec.arch = xml::attribute(osType, "arch").value_or("");
  spec.machine = xml::attribute(osType, "machine").value_or("");
  spec.disks.clear();
  spec.networks.clear();
  xmlNodePtr devices = xml::child(root, "devices");
  for (xmlNodePtr node = devices != nullptr ? devices->children : nullptr; node != nullptr;
       node = node->next) {
    if (xml::isElement(node, "disk")) {
      spec.disks.push_back(parseDisk(node));
    } else if (xml::isElement(node, "interface")) {
      spec.networks.push_back(parseInterface(node));
    }
  }
  return spec;
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
