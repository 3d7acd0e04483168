#include "crds/snapshot_revert.h"

#include <limits>

#include "crds/api_names.h"
#include "crds/object_writer.h"

namespace virtsnap::crds {
namespace {

SnapshotRevertSpec DecodeSnapshotRevertSpec(const ObjectReader& reader) {
  SnapshotRevertSpec spec;
  spec.domain_name = reader.RequiredString("domainName");
  spec.snapshot_name = reader.RequiredString("snapshotName");
  spec.force = reader.OptionalBool("force");
  return spec;
}

SnapshotRevertStatus DecodeSnapshotRevertStatus(const ObjectReader& reader) {
  SnapshotRevertStatus status;
  status.phase = reader.OptionalEnum<RevertPhase>("phase");
  status.observed_generation =
      reader.OptionalInteger("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  status.conditions = reader.OptionalObjectList("conditions", DecodeCondition);
  status.previous_snapshot = reader.OptionalString("previousSnapshot");
  status.start_time = reader.OptionalTimestamp("startTime");
  status.completion_time = reader.OptionalTimestamp("completionTime");
  return status;
}

SnapshotRevert DecodeSnapshotRevertObject(const ObjectReader& reader) {
  SnapshotRevert revert;
  revert.type_meta = DecodeTypeMeta(reader, kSnapshotRevertKind);
  revert.metadata = reader.OptionalObject("metadata", DecodeObjectMeta).value_or(ObjectMeta{});
  revert.spec = reader.RequiredObject("spec", DecodeSnapshotRevertSpec);
  revert.status = reader.OptionalObject("status", DecodeSnapshotRevertStatus);
  return revert;
}

}  // namespace

void to_json(nlohmann::json& json, const SnapshotRevertSpec& spec) {
  json = nlohmann::json::object();
  json["domainName"] = spec.domain_name;
  json["snapshotName"] = spec.snapshot_name;
  PutOptional(json, "force", spec.force);
}

void to_json(nlohmann::json& json, const SnapshotRevertStatus& status) {
  json = nlohmann::json::object();
  PutOptional(json, "phase", status.phase);
  PutOptional(json, "observedGeneration", status.observed_generation);
  PutOptional(json, "conditions", status.conditions);
  PutOptional(json, "previousSnapshot", status.previous_snapshot);
  PutOptional(json, "startTime", status.start_time);
  PutOptional(json, "completionTime", status.completion_time);
}

void to_json(nlohmann::json& json, const SnapshotRevert& revert) {
  json = nlohmann::json::object();
  PutTypeMeta(json, revert.type_meta);
  json["metadata"] = revert.metadata;
  json["spec"] = revert.spec;
  PutOptional(json, "status", revert.status);
}

void from_json(const nlohmann::json& json, SnapshotRevert& revert) {
  DecodeResult<SnapshotRevert> result = DecodeSnapshotRevert(json);
  if (!result) {
    throw DecodeException(result.error());
  }
  revert = std::move(result).value();
}

DecodeResult<SnapshotRevert> DecodeSnapshotRevert(const nlohmann::json& document, FieldPathLog* log) {
  return DecodeDocument(document, log, DecodeSnapshotRevertObject);
}

nlohmann::json EncodeSnapshotRevert(const SnapshotRevert& revert) {
  return revert;
}

std::vector<DecodeError> ValidateSnapshotRevertSpecUpdate(const SnapshotRevertSpec& old_spec,
                                                          const SnapshotRevertSpec& new_spec) {
  if (old_spec == new_spec) {
    return {};
  }
  return {{"spec", "spec is immutable"}};
}

}  // namespace virtsnap::crds

const virtsnap::meta::ResourceType& virtsnap::meta::Resource<virtsnap::crds::SnapshotRevert>::type() {
  static const ResourceType type{std::string(crds::kGroup), std::string(crds::kVersion),
                                 std::string(crds::kSnapshotRevertPlural),
                                 std::string(crds::kSnapshotRevertKind), /*namespaced=*/true};
  return type;
}
