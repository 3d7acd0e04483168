#include "crds/domain.h"

#include <limits>
#include <regex>
#include <stdexcept>

#include "crds/api_names.h"
#include "crds/object_writer.h"

namespace virtsnap::crds {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

Quantity ParseQuantity(const nlohmann::json& value) {
  QuantityResult quantity = QuantityFromJson(value);
  if (!quantity) {
    throw std::invalid_argument(quantity.error().message);
  }
  return std::move(quantity).value();
}

DomainOs DecodeDomainOs(const ObjectReader& reader) {
  DomainOs os;
  os.arch = reader.OptionalString("arch");
  os.machine = reader.OptionalString("machine");
  os.firmware = reader.OptionalEnum<Firmware>("firmware");
  return os;
}

DiskSource DecodeDiskSource(const ObjectReader& reader) {
  return DiskSource{reader.RequiredString("path")};
}

DiskCreate DecodeDiskCreate(const ObjectReader& reader) {
  DiskCreate create;
  create.size = reader.RequiredCustom("size", ParseQuantity);
  create.format = reader.OptionalEnum<ImageFormat>("format");
  return create;
}

Disk DecodeDisk(const ObjectReader& reader) {
  Disk disk;
  disk.name = reader.RequiredString("name");
  disk.bus = reader.OptionalEnum<DiskBus>("bus");
  disk.source = reader.OptionalObject("source", DecodeDiskSource);
  disk.create = reader.OptionalObject("create", DecodeDiskCreate);
  return disk;
}

NetworkInterface DecodeNetworkInterface(const ObjectReader& reader) {
  NetworkInterface network;
  network.network = reader.OptionalString("network");
  network.bridge = reader.OptionalString("bridge");
  network.model = reader.OptionalString("model");
  return network;
}

DomainSpec DecodeDomainSpec(const ObjectReader& reader) {
  DomainSpec spec;
  spec.node_name = reader.RequiredString("nodeName");
  spec.hypervisor_name = reader.OptionalString("hypervisorName");
  spec.adopt_existing = reader.OptionalBool("adoptExisting");
  spec.type = reader.OptionalString("type");
  if (auto vcpus = reader.OptionalInteger("vcpus", 1, kInt32Max)) {
    spec.vcpus = static_cast<std::int32_t>(*vcpus);
  }
  spec.memory = reader.OptionalCustom("memory", ParseQuantity);
  spec.os = reader.OptionalObject("os", DecodeDomainOs);
  spec.disks = reader.OptionalObjectList("disks", DecodeDisk);
  spec.networks = reader.OptionalObjectList("networks", DecodeNetworkInterface);
  spec.run_state = reader.OptionalEnum<RunState>("runState");
  spec.deletion_policy = reader.OptionalEnum<DomainDeletionPolicy>("deletionPolicy");
  spec.unmanaged_snapshots = reader.OptionalEnum<UnmanagedSnapshotPolicy>("unmanagedSnapshots");
  return spec;
}

HypervisorRef DecodeHypervisorRef(const ObjectReader& reader) {
  HypervisorRef hypervisor;
  hypervisor.name = reader.OptionalString("name");
  hypervisor.uuid = reader.OptionalString("uuid");
  hypervisor.uri = reader.OptionalString("uri");
  return hypervisor;
}

SnapshotTreeEntry DecodeSnapshotTreeEntry(const ObjectReader& reader) {
  SnapshotTreeEntry entry;
  entry.name = reader.RequiredString("name");
  entry.parent = reader.OptionalString("parent");
  entry.current = reader.OptionalBool("current");
  return entry;
}

DomainStatus DecodeDomainStatus(const ObjectReader& reader) {
  DomainStatus status;
  status.observed_generation = reader.OptionalInteger("observedGeneration", 0, kInt64Max);
  status.conditions = reader.OptionalObjectList("conditions", DecodeCondition);
  status.state = reader.OptionalEnum<DomainState>("state");
  status.hypervisor = reader.OptionalObject("hypervisor", DecodeHypervisorRef);
  status.current_snapshot = reader.OptionalString("currentSnapshot");
  if (auto count = reader.OptionalInteger("snapshotCount", 0, kInt32Max)) {
    status.snapshot_count = static_cast<std::int32_t>(*count);
  }
  status.snapshot_tree = reader.OptionalObjectList("snapshotTree", DecodeSnapshotTreeEntry);
  status.unmanaged_snapshots = reader.OptionalStringList("unmanagedSnapshots");
  return status;
}

Domain DecodeDomainObject(const ObjectReader& reader) {
  Domain domain;
  domain.type_meta = DecodeTypeMeta(reader, kDomainKind);
  domain.metadata = reader.OptionalObject("metadata", DecodeObjectMeta).value_or(ObjectMeta{});
  domain.spec = reader.RequiredObject("spec", DecodeDomainSpec);
  domain.status = reader.OptionalObject("status", DecodeDomainStatus);
  return domain;
}

std::string DiskPath(std::size_t index) {
  return "spec.disks[" + std::to_string(index) + "]";
}

}  // namespace

void to_json(nlohmann::json& json, const DomainOs& os) {
  json = nlohmann::json::object();
  PutOptional(json, "arch", os.arch);
  PutOptional(json, "machine", os.machine);
  PutOptional(json, "firmware", os.firmware);
}

void to_json(nlohmann::json& json, const DiskSource& source) {
  json = {{"path", source.path}};
}

void to_json(nlohmann::json& json, const DiskCreate& create) {
  json = nlohmann::json::object();
  PutField(json, "size", create.size);
  PutOptional(json, "format", create.format);
}

void to_json(nlohmann::json& json, const Disk& disk) {
  json = nlohmann::json::object();
  json["name"] = disk.name;
  PutOptional(json, "bus", disk.bus);
  PutOptional(json, "source", disk.source);
  PutOptional(json, "create", disk.create);
}

void to_json(nlohmann::json& json, const NetworkInterface& network) {
  json = nlohmann::json::object();
  PutOptional(json, "network", network.network);
  PutOptional(json, "bridge", network.bridge);
  PutOptional(json, "model", network.model);
}

void to_json(nlohmann::json& json, const DomainSpec& spec) {
  json = nlohmann::json::object();
  json["nodeName"] = spec.node_name;
  PutOptional(json, "hypervisorName", spec.hypervisor_name);
  PutOptional(json, "adoptExisting", spec.adopt_existing);
  PutOptional(json, "type", spec.type);
  PutOptional(json, "vcpus", spec.vcpus);
  PutOptional(json, "memory", spec.memory);
  PutOptional(json, "os", spec.os);
  PutOptional(json, "disks", spec.disks);
  PutOptional(json, "networks", spec.networks);
  PutOptional(json, "runState", spec.run_state);
  PutOptional(json, "deletionPolicy", spec.deletion_policy);
  PutOptional(json, "unmanagedSnapshots", spec.unmanaged_snapshots);
}

void to_json(nlohmann::json& json, const HypervisorRef& hypervisor) {
  json = nlohmann::json::object();
  PutOptional(json, "name", hypervisor.name);
  PutOptional(json, "uuid", hypervisor.uuid);
  PutOptional(json, "uri", hypervisor.uri);
}

void to_json(nlohmann::json& json, const SnapshotTreeEntry& entry) {
  json = nlohmann::json::object();
  json["name"] = entry.name;
  PutOptional(json, "parent", entry.parent);
  PutOptional(json, "current", entry.current);
}

void to_json(nlohmann::json& json, const DomainStatus& status) {
  json = nlohmann::json::object();
  PutOptional(json, "observedGeneration", status.observed_generation);
  PutOptional(json, "conditions", status.conditions);
  PutOptional(json, "state", status.state);
  PutOptional(json, "hypervisor", status.hypervisor);
  PutOptional(json, "currentSnapshot", status.current_snapshot);
  PutOptional(json, "snapshotCount", status.snapshot_count);
  PutOptional(json, "snapshotTree", status.snapshot_tree);
  PutOptional(json, "unmanagedSnapshots", status.unmanaged_snapshots);
}

void to_json(nlohmann::json& json, const Domain& domain) {
  json = nlohmann::json::object();
  PutTypeMeta(json, domain.type_meta);
  json["metadata"] = domain.metadata;
  json["spec"] = domain.spec;
  PutOptional(json, "status", domain.status);
}

void from_json(const nlohmann::json& json, Domain& domain) {
  DecodeResult<Domain> result = DecodeDomain(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  domain = std::move(result).value();
}

DecodeResult<Domain> DecodeDomain(const nlohmann::json& document, FieldPathLog* log) {
  return DecodeDocument(document, log, DecodeDomainObject);
}

nlohmann::json EncodeDomain(const Domain& domain) {
  return domain;
}

std::vector<DecodeError> ValidateDomainSpec(const DomainSpec& spec) {
  std::vector<DecodeError> errors;
  if (spec.node_name.empty()) {
    errors.push_back({"spec.nodeName", "required field is missing"});
  }
  if (spec.vcpus && *spec.vcpus < 1) {
    errors.push_back({"spec.vcpus", "must be at least 1"});
  }
  if (spec.memory && spec.memory->Bytes() == 0) {
    errors.push_back({"spec.memory", "must be more than 0 bytes"});
  }
  static const std::regex kDotSegment("(^|/)[.][.]?(/|$)");
  if (spec.disks) {
    for (std::size_t i = 0; i < spec.disks->size(); ++i) {
      const Disk& disk = (*spec.disks)[i];
      for (std::size_t j = 0; j < i; ++j) {
        if ((*spec.disks)[j].name == disk.name) {
          errors.push_back({DiskPath(i) + ".name", "duplicate disk name \"" + disk.name + "\""});
        }
      }
      if (disk.source.has_value() == disk.create.has_value()) {
        errors.push_back({DiskPath(i), "a disk has exactly one of source and create"});
      }
      if (disk.source) {
        const std::string& path = disk.source->path;
        if (path.empty() || path.front() != '/') {
          errors.push_back({DiskPath(i) + ".source.path", "must be an absolute path"});
        } else if (std::regex_search(path, kDotSegment)) {
          errors.push_back({DiskPath(i) + ".source.path", "path must not contain . or .. segments"});
        }
      }
      if (disk.create && disk.create->size.Bytes() == 0) {
        errors.push_back({DiskPath(i) + ".create.size", "must be more than 0 bytes"});
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

std::vector<DecodeError> ValidateDomainSpecUpdate(const DomainSpec& old_spec, const DomainSpec& new_spec) {
  std::vector<DecodeError> errors;
  if (old_spec.node_name != new_spec.node_name) {
    errors.push_back({"spec.nodeName", "nodeName is immutable"});
  }
  return errors;
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::Domain>::type() {
  static const ResourceType type{std::string(crds::kGroup), std::string(crds::kVersion),
                                 std::string(crds::kDomainPlural), std::string(crds::kDomainKind),
                                 /*namespaced=*/true};
  return type;
}
