#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/enum_names.h"
#include "crds/object_reader.h"

namespace virtsnap::crds {

// The condition types of docs/design.md (The API). Ready is the summary; Reconciling and Stalled are
// kstatus's "abnormal-true" conditions, present only while true.
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionReconciling = "Reconciling";
inline constexpr std::string_view kConditionStalled = "Stalled";
inline constexpr std::string_view kConditionRestartRequired = "RestartRequired";  // Domain
inline constexpr std::string_view kConditionDeletionBlocked = "DeletionBlocked";  // Snapshot

enum class ConditionStatus { True, False, Unknown };

constexpr std::array<std::pair<ConditionStatus, std::string_view>, 3> wireNames(ConditionStatus /*unused*/) {
  return {{
      {ConditionStatus::True, "True"},
      {ConditionStatus::False, "False"},
      {ConditionStatus::Unknown, "Unknown"},
  }};
}

// metav1.Condition. lastTransitionTime is RFC 3339 text (see crds/timestamp.h); reason and
// message are always present on the wire (message may be empty).
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::Unknown;
  std::optional<std::int64_t> observedGeneration;
  std::string lastTransitionTime;
  std::string reason;
  std::string message;

  friend bool operator==(const Condition&, const Condition&) = default;
};

void to_json(nlohmann::json& json, const Condition& condition);
Condition decodeCondition(const ObjectReader& reader);

}  // namespace virtsnap::crds
