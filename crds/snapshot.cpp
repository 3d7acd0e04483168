#include "crds/snapshot.h"

#include <limits>

#include "crds/api_names.h"
#include "crds/object_writer.h"

namespace virtsnap::crds {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

SnapshotSpec DecodeSnapshotSpec(const ObjectReader& reader) {
  SnapshotSpec spec;
  spec.domain_name = reader.RequiredString("domainName");
  spec.description = reader.OptionalString("description");
  spec.location = reader.OptionalEnum<SnapshotLocation>("location");
  spec.memory = reader.OptionalBool("memory");
  spec.quiesce = reader.OptionalBool("quiesce");
  spec.deletion_policy = reader.OptionalEnum<SnapshotDeletionPolicy>("deletionPolicy");
  return spec;
}

SnapshotDiskStatus DecodeSnapshotDiskStatus(const ObjectReader& reader) {
  SnapshotDiskStatus disk;
  disk.name = reader.RequiredString("name");
  disk.snapshot = reader.OptionalEnum<DiskSnapshotMode>("snapshot");
  disk.file = reader.OptionalString("file");
  return disk;
}

SnapshotStatus DecodeSnapshotStatus(const ObjectReader& reader) {
  SnapshotStatus status;
  status.phase = reader.OptionalEnum<SnapshotPhase>("phase");
  status.observed_generation = reader.OptionalInteger("observedGeneration", 0, kInt64Max);
  status.conditions = reader.OptionalObjectList("conditions", DecodeCondition);
  status.node_name = reader.OptionalString("nodeName");
  status.creation_time = reader.OptionalTimestamp("creationTime");
  status.parent = reader.OptionalString("parent");
  status.children = reader.OptionalStringList("children");
  status.current = reader.OptionalBool("current");
  if (auto depth = reader.OptionalInteger("depth", 0, kInt32Max)) {
    status.depth = static_cast<std::int32_t>(*depth);
  }
  status.domain_state = reader.OptionalEnum<SnapshotDomainState>("domainState");
  status.location = reader.OptionalEnum<SnapshotLocation>("location");
  status.memory = reader.OptionalBool("memory");
  status.disks = reader.OptionalObjectList("disks", DecodeSnapshotDiskStatus);
  status.deletable = reader.OptionalBool("deletable");
  status.deletion_blocked_reason = reader.OptionalString("deletionBlockedReason");
  status.definition = reader.OptionalString("definition");
  return status;
}

Snapshot DecodeSnapshotObject(const ObjectReader& reader) {
  Snapshot snapshot;
  snapshot.type_meta = DecodeTypeMeta(reader, kSnapshotKind);
  snapshot.metadata = reader.OptionalObject("metadata", DecodeObjectMeta).value_or(ObjectMeta{});
  snapshot.spec = reader.RequiredObject("spec", DecodeSnapshotSpec);
  snapshot.status = reader.OptionalObject("status", DecodeSnapshotStatus);
  return snapshot;
}

bool IsExternal(const SnapshotSpec& spec) {
  return spec.location == SnapshotLocation::kExternal;
}

}  // namespace

void to_json(nlohmann::json& json, const SnapshotSpec& spec) {
  json = nlohmann::json::object();
  json["domainName"] = spec.domain_name;
  PutOptional(json, "description", spec.description);
  PutOptional(json, "location", spec.location);
  PutOptional(json, "memory", spec.memory);
  PutOptional(json, "quiesce", spec.quiesce);
  PutOptional(json, "deletionPolicy", spec.deletion_policy);
}

void to_json(nlohmann::json& json, const SnapshotDiskStatus& disk) {
  json = nlohmann::json::object();
  json["name"] = disk.name;
  PutOptional(json, "snapshot", disk.snapshot);
  PutOptional(json, "file", disk.file);
}

void to_json(nlohmann::json& json, const SnapshotStatus& status) {
  json = nlohmann::json::object();
  PutOptional(json, "phase", status.phase);
  PutOptional(json, "observedGeneration", status.observed_generation);
  PutOptional(json, "conditions", status.conditions);
  PutOptional(json, "nodeName", status.node_name);
  PutOptional(json, "creationTime", status.creation_time);
  PutOptional(json, "parent", status.parent);
  PutOptional(json, "children", status.children);
  PutOptional(json, "current", status.current);
  PutOptional(json, "depth", status.depth);
  PutOptional(json, "domainState", status.domain_state);
  PutOptional(json, "location", status.location);
  PutOptional(json, "memory", status.memory);
  PutOptional(json, "disks", status.disks);
  PutOptional(json, "deletable", status.deletable);
  PutOptional(json, "deletionBlockedReason", status.deletion_blocked_reason);
  PutOptional(json, "definition", status.definition);
}

void to_json(nlohmann::json& json, const Snapshot& snapshot) {
  json = nlohmann::json::object();
  PutTypeMeta(json, snapshot.type_meta);
  json["metadata"] = snapshot.metadata;
  json["spec"] = snapshot.spec;
  PutOptional(json, "status", snapshot.status);
}

void from_json(const nlohmann::json& json, Snapshot& snapshot) {
  DecodeResult<Snapshot> result = DecodeSnapshot(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  snapshot = std::move(result).value();
}

DecodeResult<Snapshot> DecodeSnapshot(const nlohmann::json& document, FieldPathLog* log) {
  return DecodeDocument(document, log, DecodeSnapshotObject);
}

nlohmann::json EncodeSnapshot(const Snapshot& snapshot) {
  return snapshot;
}

std::vector<DecodeError> ValidateSnapshotSpec(const SnapshotSpec& spec) {
  std::vector<DecodeError> errors;
  if (spec.domain_name.empty()) {
    errors.push_back({"spec.domainName", "required field is missing"});
  }
  if (spec.memory && !IsExternal(spec)) {
    errors.push_back({"spec.memory", "memory can only be set for an External snapshot"});
  }
  if (spec.quiesce.value_or(false) && !(IsExternal(spec) && spec.memory == false)) {
    errors.push_back(
        {"spec.quiesce", "quiesce needs an External disk-only snapshot (location External, memory false)"});
  }
  return errors;
}

std::vector<DecodeError> ValidateSnapshotSpecUpdate(const SnapshotSpec& old_spec,
                                                    const SnapshotSpec& new_spec) {
  std::vector<DecodeError> errors;
  if (old_spec.domain_name != new_spec.domain_name) {
    errors.push_back({"spec.domainName", "domainName is immutable"});
  }
  if (old_spec.location != new_spec.location) {
    errors.push_back({"spec.location", "location is immutable"});
  }
  if (old_spec.memory != new_spec.memory) {
    errors.push_back({"spec.memory", "memory is immutable"});
  }
  if (old_spec.quiesce != new_spec.quiesce) {
    errors.push_back({"spec.quiesce", "quiesce is immutable"});
  }
  return errors;
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type() {
  static const ResourceType type{std::string(crds::kGroup), std::string(crds::kVersion),
                                 std::string(crds::kSnapshotPlural), std::string(crds::kSnapshotKind),
                                 /*namespaced=*/true};
  return type;
}
