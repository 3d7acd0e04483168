#include "crds/domain.h"

#include <limits>
#include <regex>
#include <stdexcept>

#include "crds/api_names.h"
#include "crds/meta/object_writer.h"

namespace virtsnap::crds {

// The Kubernetes object vocabulary every kind is written in.
using meta::decodeCondition;
using meta::decodeDocument;
using meta::DecodeError;
using meta::DecodeException;
using meta::decodeObjectMeta;
using meta::DecodeResult;
using meta::decodeTypeMeta;
using meta::FieldPathLog;
using meta::ObjectMeta;
using meta::ObjectReader;
using meta::putField;
using meta::putOptional;
using meta::putTypeMeta;
using meta::Quantity;
using meta::quantityFromJson;
using meta::QuantityResult;

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

Quantity parseQuantity(const nlohmann::json& value) {
  QuantityResult quantity = quantityFromJson(value);
  if (!quantity) {
    throw std::invalid_argument(quantity.error().message);
  }
  return std::move(quantity).value();
}

DomainOs decodeDomainOs(const ObjectReader& reader) {
  DomainOs os;
  os.arch = reader.optionalString("arch");
  os.machine = reader.optionalString("machine");
  os.firmware = reader.optionalEnum<Firmware>("firmware");
  return os;
}

DiskSource decodeDiskSource(const ObjectReader& reader) {
  return DiskSource{reader.requiredString("path")};
}

DiskCreate decodeDiskCreate(const ObjectReader& reader) {
  DiskCreate create;
  create.size = reader.requiredCustom("size", parseQuantity);
  create.format = reader.optionalEnum<ImageFormat>("format");
  return create;
}

Disk decodeDisk(const ObjectReader& reader) {
  Disk disk;
  disk.name = reader.requiredString("name");
  disk.bus = reader.optionalEnum<DiskBus>("bus");
  disk.source = reader.optionalObject("source", decodeDiskSource);
  disk.create = reader.optionalObject("create", decodeDiskCreate);
  return disk;
}

NetworkInterface decodeNetworkInterface(const ObjectReader& reader) {
  NetworkInterface network;
  network.network = reader.optionalString("network");
  network.bridge = reader.optionalString("bridge");
  network.model = reader.optionalString("model");
  return network;
}

DomainSpec decodeDomainSpec(const ObjectReader& reader) {
  DomainSpec spec;
  spec.nodeName = reader.requiredString("nodeName");
  spec.hypervisorName = reader.optionalString("hypervisorName");
  spec.adoptExisting = reader.optionalBool("adoptExisting");
  spec.type = reader.optionalString("type");
  if (auto vcpus = reader.optionalInteger("vcpus", 1, kInt32Max)) {
    spec.vcpus = static_cast<std::int32_t>(*vcpus);
  }
  spec.memory = reader.optionalCustom("memory", parseQuantity);
  spec.os = reader.optionalObject("os", decodeDomainOs);
  spec.disks = reader.optionalObjectList("disks", decodeDisk);
  spec.networks = reader.optionalObjectList("networks", decodeNetworkInterface);
  spec.runState = reader.optionalEnum<RunState>("runState");
  spec.deletionPolicy = reader.optionalEnum<DomainDeletionPolicy>("deletionPolicy");
  spec.unmanagedSnapshots = reader.optionalEnum<UnmanagedSnapshotPolicy>("unmanagedSnapshots");
  return spec;
}

HypervisorRef decodeHypervisorRef(const ObjectReader& reader) {
  HypervisorRef hypervisor;
  hypervisor.name = reader.optionalString("name");
  hypervisor.uuid = reader.optionalString("uuid");
  hypervisor.uri = reader.optionalString("uri");
  return hypervisor;
}

SnapshotTreeEntry decodeSnapshotTreeEntry(const ObjectReader& reader) {
  SnapshotTreeEntry entry;
  entry.name = reader.requiredString("name");
  entry.parent = reader.optionalString("parent");
  entry.current = reader.optionalBool("current");
  return entry;
}

DomainStatus decodeDomainStatus(const ObjectReader& reader) {
  DomainStatus status;
  status.observedGeneration = reader.optionalInteger("observedGeneration", 0, kInt64Max);
  status.conditions = reader.optionalObjectList("conditions", decodeCondition);
  status.state = reader.optionalEnum<DomainState>("state");
  status.hypervisor = reader.optionalObject("hypervisor", decodeHypervisorRef);
  status.currentSnapshot = reader.optionalString("currentSnapshot");
  if (auto count = reader.optionalInteger("snapshotCount", 0, kInt32Max)) {
    status.snapshotCount = static_cast<std::int32_t>(*count);
  }
  status.snapshotTree = reader.optionalObjectList("snapshotTree", decodeSnapshotTreeEntry);
  status.unmanagedSnapshots = reader.optionalStringList("unmanagedSnapshots");
  return status;
}

Domain decodeDomainObject(const ObjectReader& reader) {
  Domain domain;
  domain.typeMeta = decodeTypeMeta(reader, kApiVersion, kDomainKind);
  domain.metadata = reader.optionalObject("metadata", decodeObjectMeta).value_or(ObjectMeta{});
  domain.spec = reader.requiredObject("spec", decodeDomainSpec);
  domain.status = reader.optionalObject("status", decodeDomainStatus);
  return domain;
}

std::string diskPath(std::size_t index) {
  return "spec.disks[" + std::to_string(index) + "]";
}

}  // namespace

void to_json(nlohmann::json& json, const DomainOs& os) {
  json = nlohmann::json::object();
  putOptional(json, "arch", os.arch);
  putOptional(json, "machine", os.machine);
  putOptional(json, "firmware", os.firmware);
}

void to_json(nlohmann::json& json, const DiskSource& source) {
  json = {{"path", source.path}};
}

void to_json(nlohmann::json& json, const DiskCreate& create) {
  json = nlohmann::json::object();
  putField(json, "size", create.size);
  putOptional(json, "format", create.format);
}

void to_json(nlohmann::json& json, const Disk& disk) {
  json = nlohmann::json::object();
  json["name"] = disk.name;
  putOptional(json, "bus", disk.bus);
  putOptional(json, "source", disk.source);
  putOptional(json, "create", disk.create);
}

void to_json(nlohmann::json& json, const NetworkInterface& network) {
  json = nlohmann::json::object();
  putOptional(json, "network", network.network);
  putOptional(json, "bridge", network.bridge);
  putOptional(json, "model", network.model);
}

void to_json(nlohmann::json& json, const DomainSpec& spec) {
  json = nlohmann::json::object();
  json["nodeName"] = spec.nodeName;
  putOptional(json, "hypervisorName", spec.hypervisorName);
  putOptional(json, "adoptExisting", spec.adoptExisting);
  putOptional(json, "type", spec.type);
  putOptional(json, "vcpus", spec.vcpus);
  putOptional(json, "memory", spec.memory);
  putOptional(json, "os", spec.os);
  putOptional(json, "disks", spec.disks);
  putOptional(json, "networks", spec.networks);
  putOptional(json, "runState", spec.runState);
  putOptional(json, "deletionPolicy", spec.deletionPolicy);
  putOptional(json, "unmanagedSnapshots", spec.unmanagedSnapshots);
}

void to_json(nlohmann::json& json, const HypervisorRef& hypervisor) {
  json = nlohmann::json::object();
  putOptional(json, "name", hypervisor.name);
  putOptional(json, "uuid", hypervisor.uuid);
  putOptional(json, "uri", hypervisor.uri);
}

void to_json(nlohmann::json& json, const SnapshotTreeEntry& entry) {
  json = nlohmann::json::object();
  json["name"] = entry.name;
  putOptional(json, "parent", entry.parent);
  putOptional(json, "current", entry.current);
}

void to_json(nlohmann::json& json, const DomainStatus& status) {
  json = nlohmann::json::object();
  putOptional(json, "observedGeneration", status.observedGeneration);
  putOptional(json, "conditions", status.conditions);
  putOptional(json, "state", status.state);
  putOptional(json, "hypervisor", status.hypervisor);
  putOptional(json, "currentSnapshot", status.currentSnapshot);
  putOptional(json, "snapshotCount", status.snapshotCount);
  putOptional(json, "snapshotTree", status.snapshotTree);
  putOptional(json, "unmanagedSnapshots", status.unmanagedSnapshots);
}

void to_json(nlohmann::json& json, const Domain& domain) {
  json = nlohmann::json::object();
  putTypeMeta(json, domain.typeMeta);
  json["metadata"] = domain.metadata;
  json["spec"] = domain.spec;
  putOptional(json, "status", domain.status);
}

void from_json(const nlohmann::json& json, Domain& domain) {
  DecodeResult<Domain> result = decodeDomain(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  domain = std::move(result).value();
}

DecodeResult<Domain> decodeDomain(const nlohmann::json& document, FieldPathLog* log) {
  return decodeDocument(document, log, decodeDomainObject);
}

nlohmann::json encodeDomain(const Domain& domain) {
  return domain;
}

std::vector<DecodeError> validateDomainSpec(const DomainSpec& spec) {
  std::vector<DecodeError> errors;
  if (spec.nodeName.empty()) {
    errors.push_back({"spec.nodeName", "required field is missing"});
  }
  if (spec.vcpus && *spec.vcpus < 1) {
    errors.push_back({"spec.vcpus", "must be at least 1"});
  }
  if (spec.memory && spec.memory->bytes() == 0) {
    errors.push_back({"spec.memory", "must be more than 0 bytes"});
  }
  static const std::regex kDotSegment("(^|/)[.][.]?(/|$)");
  if (spec.disks) {
    for (std::size_t i = 0; i < spec.disks->size(); ++i) {
      const Disk& disk = (*spec.disks)[i];
      for (std::size_t j = 0; j < i; ++j) {
        if ((*spec.disks)[j].name == disk.name) {
          errors.push_back({diskPath(i) + ".name", "duplicate disk name \"" + disk.name + "\""});
        }
      }
      if (disk.source.has_value() == disk.create.has_value()) {
        errors.push_back({diskPath(i), "a disk has exactly one of source and create"});
      }
      if (disk.source) {
        const std::string& path = disk.source->path;
        if (path.empty() || path.front() != '/') {
          errors.push_back({diskPath(i) + ".source.path", "must be an absolute path"});
        } else if (std::regex_search(path, kDotSegment)) {
          errors.push_back({diskPath(i) + ".source.path", "path must not contain . or .. segments"});
        }
      }
      if (disk.create && disk.create->size.bytes() == 0) {
        errors.push_back({diskPath(i) + ".create.size", "must be more than 0 bytes"});
      }
    }
  }
  if (spec.networks) {
    for (std::size_t i = 0; i < spec.networks->size(); ++i) {
      const NetworkInterface& network = (*spec.networks)[i];
      if (network.network.has_value() == network.bridge.has_value()) {
        errors.push_back({"spec.networks[" + std::to_string(i) + "]",
                          "a network interface has exactly one of network and bridge"});
      }
    }
  }
  return errors;
}

std::vector<DecodeError> validateDomainSpecUpdate(const DomainSpec& oldSpec, const DomainSpec& newSpec) {
  std::vector<DecodeError> errors;
  if (oldSpec.nodeName != newSpec.nodeName) {
    errors.push_back({"spec.nodeName", "nodeName is immutable"});
  }
  return errors;
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::Domain>::type() {
  static const ResourceType kType{std::string(crds::kGroup), std::string(crds::kVersion),
                                  std::string(crds::kDomainPlural), std::string(crds::kDomainKind),
                                  /*namespaced=*/true};
  return kType;
}
