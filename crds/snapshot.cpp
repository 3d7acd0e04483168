#include "crds/snapshot.h"

#include <limits>

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
using meta::putOptional;
using meta::putTypeMeta;

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

SnapshotSpec decodeSnapshotSpec(const ObjectReader& reader) {
  SnapshotSpec spec;
  spec.domainName = reader.requiredString("domainName");
  spec.description = reader.optionalString("description");
  spec.location = reader.optionalEnum<SnapshotLocation>("location");
  spec.memory = reader.optionalBool("memory");
  spec.quiesce = reader.optionalBool("quiesce");
  spec.deletionPolicy = reader.optionalEnum<SnapshotDeletionPolicy>("deletionPolicy");
  return spec;
}

SnapshotDiskStatus decodeSnapshotDiskStatus(const ObjectReader& reader) {
  SnapshotDiskStatus disk;
  disk.name = reader.requiredString("name");
  disk.snapshot = reader.optionalEnum<DiskSnapshotMode>("snapshot");
  disk.file = reader.optionalString("file");
  return disk;
}

SnapshotStatus decodeSnapshotStatus(const ObjectReader& reader) {
  SnapshotStatus status;
  status.phase = reader.optionalEnum<SnapshotPhase>("phase");
  status.observedGeneration = reader.optionalInteger("observedGeneration", 0, kInt64Max);
  status.conditions = reader.optionalObjectList("conditions", decodeCondition);
  status.nodeName = reader.optionalString("nodeName");
  status.creationTime = reader.optionalTimestamp("creationTime");
  status.parent = reader.optionalString("parent");
  status.children = reader.optionalStringList("children");
  status.current = reader.optionalBool("current");
  if (auto depth = reader.optionalInteger("depth", 0, kInt32Max)) {
    status.depth = static_cast<std::int32_t>(*depth);
  }
  status.domainState = reader.optionalEnum<SnapshotDomainState>("domainState");
  status.location = reader.optionalEnum<SnapshotLocation>("location");
  status.memory = reader.optionalBool("memory");
  status.disks = reader.optionalObjectList("disks", decodeSnapshotDiskStatus);
  status.deletable = reader.optionalBool("deletable");
  status.deletionBlockedReason = reader.optionalString("deletionBlockedReason");
  status.definition = reader.optionalString("definition");
  return status;
}

Snapshot decodeSnapshotObject(const ObjectReader& reader) {
  Snapshot snapshot;
  snapshot.typeMeta = decodeTypeMeta(reader, kApiVersion, kSnapshotKind);
  snapshot.metadata = reader.optionalObject("metadata", decodeObjectMeta).value_or(ObjectMeta{});
  snapshot.spec = reader.requiredObject("spec", decodeSnapshotSpec);
  snapshot.status = reader.optionalObject("status", decodeSnapshotStatus);
  return snapshot;
}

bool isExternal(const SnapshotSpec& spec) {
  return spec.location == SnapshotLocation::External;
}

}  // namespace

void to_json(nlohmann::json& json, const SnapshotSpec& spec) {
  json = nlohmann::json::object();
  json["domainName"] = spec.domainName;
  putOptional(json, "description", spec.description);
  putOptional(json, "location", spec.location);
  putOptional(json, "memory", spec.memory);
  putOptional(json, "quiesce", spec.quiesce);
  putOptional(json, "deletionPolicy", spec.deletionPolicy);
}

void to_json(nlohmann::json& json, const SnapshotDiskStatus& disk) {
  json = nlohmann::json::object();
  json["name"] = disk.name;
  putOptional(json, "snapshot", disk.snapshot);
  putOptional(json, "file", disk.file);
}

void to_json(nlohmann::json& json, const SnapshotStatus& status) {
  json = nlohmann::json::object();
  putOptional(json, "phase", status.phase);
  putOptional(json, "observedGeneration", status.observedGeneration);
  putOptional(json, "conditions", status.conditions);
  putOptional(json, "nodeName", status.nodeName);
  putOptional(json, "creationTime", status.creationTime);
  putOptional(json, "parent", status.parent);
  putOptional(json, "children", status.children);
  putOptional(json, "current", status.current);
  putOptional(json, "depth", status.depth);
  putOptional(json, "domainState", status.domainState);
  putOptional(json, "location", status.location);
  putOptional(json, "memory", status.memory);
  putOptional(json, "disks", status.disks);
  putOptional(json, "deletable", status.deletable);
  putOptional(json, "deletionBlockedReason", status.deletionBlockedReason);
  putOptional(json, "definition", status.definition);
}

void to_json(nlohmann::json& json, const Snapshot& snapshot) {
  json = nlohmann::json::object();
  putTypeMeta(json, snapshot.typeMeta);
  json["metadata"] = snapshot.metadata;
  json["spec"] = snapshot.spec;
  putOptional(json, "status", snapshot.status);
}

void from_json(const nlohmann::json& json, Snapshot& snapshot) {
  DecodeResult<Snapshot> result = decodeSnapshot(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  snapshot = std::move(result).value();
}

DecodeResult<Snapshot> decodeSnapshot(const nlohmann::json& document, FieldPathLog* log) {
  return decodeDocument(document, log, decodeSnapshotObject);
}

nlohmann::json encodeSnapshot(const Snapshot& snapshot) {
  return snapshot;
}

std::vector<DecodeError> validateSnapshotSpec(const SnapshotSpec& spec) {
  std::vector<DecodeError> errors;
  if (spec.domainName.empty()) {
    errors.push_back({"spec.domainName", "required field is missing"});
  }
  if (spec.memory && !isExternal(spec)) {
    errors.push_back({"spec.memory", "memory can only be set for an External snapshot"});
  }
  if (spec.quiesce.value_or(false) && !(isExternal(spec) && spec.memory == false)) {
    errors.push_back(
        {"spec.quiesce", "quiesce needs an External disk-only snapshot (location External, memory false)"});
  }
  return errors;
}

std::vector<DecodeError> validateSnapshotSpecUpdate(const SnapshotSpec& oldSpec,
                                                    const SnapshotSpec& newSpec) {
  std::vector<DecodeError> errors;
  if (oldSpec.domainName != newSpec.domainName) {
    errors.push_back({"spec.domainName", "domainName is immutable"});
  }
  if (oldSpec.location != newSpec.location) {
    errors.push_back({"spec.location", "location is immutable"});
  }
  if (oldSpec.memory != newSpec.memory) {
    errors.push_back({"spec.memory", "memory is immutable"});
  }
  if (oldSpec.quiesce != newSpec.quiesce) {
    errors.push_back({"spec.quiesce", "quiesce is immutable"});
  }
  return errors;
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type() {
  static const ResourceType kType{std::string(crds::kGroup), std::string(crds::kVersion),
                                  std::string(crds::kSnapshotPlural), std::string(crds::kSnapshotKind),
                                  /*namespaced=*/true};
  return kType;
}
