#include "crds/snapshot_revert.h"

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

SnapshotRevertSpec decodeSnapshotRevertSpec(const ObjectReader& reader) {
  SnapshotRevertSpec spec;
  spec.domainName = reader.requiredString("domainName");
  spec.snapshotName = reader.requiredString("snapshotName");
  spec.force = reader.optionalBool("force");
  return spec;
}

SnapshotRevertStatus decodeSnapshotRevertStatus(const ObjectReader& reader) {
  SnapshotRevertStatus status;
  status.phase = reader.optionalEnum<RevertPhase>("phase");
  status.observedGeneration =
      reader.optionalInteger("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  status.conditions = reader.optionalObjectList("conditions", decodeCondition);
  status.previousSnapshot = reader.optionalString("previousSnapshot");
  status.startTime = reader.optionalTimestamp("startTime");
  status.completionTime = reader.optionalTimestamp("completionTime");
  return status;
}

SnapshotRevert decodeSnapshotRevertObject(const ObjectReader& reader) {
  SnapshotRevert revert;
  revert.typeMeta = decodeTypeMeta(reader, kApiVersion, kSnapshotRevertKind);
  revert.metadata = reader.optionalObject("metadata", decodeObjectMeta).value_or(ObjectMeta{});
  revert.spec = reader.requiredObject("spec", decodeSnapshotRevertSpec);
  revert.status = reader.optionalObject("status", decodeSnapshotRevertStatus);
  return revert;
}

}  // namespace

void to_json(nlohmann::json& json, const SnapshotRevertSpec& spec) {
  json = nlohmann::json::object();
  json["domainName"] = spec.domainName;
  json["snapshotName"] = spec.snapshotName;
  putOptional(json, "force", spec.force);
}

void to_json(nlohmann::json& json, const SnapshotRevertStatus& status) {
  json = nlohmann::json::object();
  putOptional(json, "phase", status.phase);
  putOptional(json, "observedGeneration", status.observedGeneration);
  putOptional(json, "conditions", status.conditions);
  putOptional(json, "previousSnapshot", status.previousSnapshot);
  putOptional(json, "startTime", status.startTime);
  putOptional(json, "completionTime", status.completionTime);
}

void to_json(nlohmann::json& json, const SnapshotRevert& revert) {
  json = nlohmann::json::object();
  putTypeMeta(json, revert.typeMeta);
  json["metadata"] = revert.metadata;
  json["spec"] = revert.spec;
  putOptional(json, "status", revert.status);
}

void from_json(const nlohmann::json& json, SnapshotRevert& revert) {
  DecodeResult<SnapshotRevert> result = decodeSnapshotRevert(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  revert = std::move(result).value();
}

DecodeResult<SnapshotRevert> decodeSnapshotRevert(const nlohmann::json& document, FieldPathLog* log) {
  return decodeDocument(document, log, decodeSnapshotRevertObject);
}

nlohmann::json encodeSnapshotRevert(const SnapshotRevert& revert) {
  return revert;
}

std::vector<DecodeError> validateSnapshotRevertSpecUpdate(const SnapshotRevertSpec& oldSpec,
                                                          const SnapshotRevertSpec& newSpec) {
  if (oldSpec == newSpec) {
    return {};
  }
  return {{"spec", "spec is immutable"}};
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::SnapshotRevert>::type() {
  static const ResourceType kType{std::string(crds::kGroup), std::string(crds::kVersion),
                                  std::string(crds::kSnapshotRevertPlural),
                                  std::string(crds::kSnapshotRevertKind), /*namespaced=*/true};
  return kType;
}
