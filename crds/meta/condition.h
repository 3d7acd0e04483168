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
#include "crds/meta/object_reader.h"

namespace virtsnap::meta {

// kstatus's condition types, shared by every kind (docs/design.md, The API): Ready is the summary;
// Reconciling and Stalled are "abnormal-true" conditions, present only while true. A kind's own
// condition types sit next to it (crds/domain.h, crds/snapshot.h).
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionReconciling = "Reconciling";
inline constexpr std::string_view kConditionStalled = "Stalled";

enum class ConditionStatus { True, False, Unknown };

constexpr std::array<std::pair<ConditionStatus, std::string_view>, 3> wireNames(ConditionStatus /*unused*/) {
  return {{
      {ConditionStatus::True, "True"},
      {ConditionStatus::False, "False"},
      {ConditionStatus::Unknown, "Unknown"},
  }};
}

// metav1.Condition. lastTransitionTime is RFC 3339 text (see crds/meta/time.h); reason and
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

// The condition of `type` in a status's list, or nullptr.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);
const Condition* findCondition(const std::optional<std::vector<Condition>>& conditions,
                               std::string_view type);
// The condition of `type` when its status is True, else nullptr.
const Condition* trueCondition(const std::optional<std::vector<Condition>>& conditions,
                               std::string_view type);

}  // namespace virtsnap::meta
