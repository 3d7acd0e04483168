#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/enum_names.h"
#include "crds/api_names.h"
#include "crds/meta/condition.h"
#include "crds/meta/decode_error.h"
#include "crds/meta/object_meta.h"
#include "crds/meta/object_reader.h"
#include "crds/meta/resource.h"
#include "crds/meta/type_meta.h"

namespace virtsnap::crds {

// The SnapshotRevert kind (crds/virtsnap.io_snapshotreverts.yaml): a one-shot request to revert a
// Domain to one of its Snapshots, executed once and kept afterwards as a record.

enum class RevertPhase { Pending, Running, Succeeded, Failed };

constexpr std::array<std::pair<RevertPhase, std::string_view>, 4> wireNames(RevertPhase /*unused*/) {
  return {{
      {RevertPhase::Pending, "Pending"},
      {RevertPhase::Running, "Running"},
      {RevertPhase::Succeeded, "Succeeded"},
      {RevertPhase::Failed, "Failed"},
  }};
}

// Immutable.
struct SnapshotRevertSpec {
  std::string domainName;
  std::string snapshotName;
  std::optional<bool> force;

  friend bool operator==(const SnapshotRevertSpec&, const SnapshotRevertSpec&) = default;
};

struct SnapshotRevertStatus {
  std::optional<RevertPhase> phase;
  std::optional<std::int64_t> observedGeneration;
  std::optional<std::vector<meta::Condition>> conditions;
  std::optional<std::string> previousSnapshot;
  std::optional<std::string> startTime;       // RFC 3339
  std::optional<std::string> completionTime;  // RFC 3339

  friend bool operator==(const SnapshotRevertStatus&, const SnapshotRevertStatus&) = default;
};

struct SnapshotRevert {
  meta::TypeMeta typeMeta{std::string(kApiVersion), std::string(kSnapshotRevertKind)};
  meta::ObjectMeta metadata;
  SnapshotRevertSpec spec;
  std::optional<SnapshotRevertStatus> status;

  friend bool operator==(const SnapshotRevert&, const SnapshotRevert&) = default;
};

// Decodes a SnapshotRevert document; `log` (optional) records every field path looked up.
meta::DecodeResult<SnapshotRevert> decodeSnapshotRevert(const nlohmann::json& document,
                                                        meta::FieldPathLog* log = nullptr);
nlohmann::json encodeSnapshotRevert(const SnapshotRevert& revert);

// The CRD's transition rule: the spec never changes.
std::vector<meta::DecodeError> validateSnapshotRevertSpecUpdate(const SnapshotRevertSpec& oldSpec,
                                                                const SnapshotRevertSpec& newSpec);

void to_json(nlohmann::json& json, const SnapshotRevert& revert);
void from_json(const nlohmann::json& json, SnapshotRevert& revert);  // throws DecodeException
void to_json(nlohmann::json& json, const SnapshotRevertSpec& spec);
void to_json(nlohmann::json& json, const SnapshotRevertStatus& status);

}  // namespace virtsnap::crds

// SnapshotRevert registers itself with the code that is generic over kinds (the typed client).
template <>
struct virtsnap::meta::Resource<virtsnap::crds::SnapshotRevert> {
  static const ResourceType& type();
  static meta::DecodeResult<crds::SnapshotRevert> decode(const nlohmann::json& document) {
    return crds::decodeSnapshotRevert(document);
  }
  static nlohmann::json encode(const crds::SnapshotRevert& object) {
    return crds::encodeSnapshotRevert(object);
  }
};
