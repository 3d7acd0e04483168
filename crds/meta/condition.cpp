#include "crds/meta/condition.h"

#include <algorithm>
#include <limits>

#include "crds/meta/object_writer.h"

namespace virtsnap::meta {

void to_json(nlohmann::json& json, const Condition& condition) {
  json = nlohmann::json::object();
  json["type"] = condition.type;
  putField(json, "status", condition.status);
  putOptional(json, "observedGeneration", condition.observedGeneration);
  json["lastTransitionTime"] = condition.lastTransitionTime;
  json["reason"] = condition.reason;
  json["message"] = condition.message;
}

Condition decodeCondition(const ObjectReader& reader) {
  Condition condition;
  condition.type = reader.requiredString("type");
  if (condition.type.empty()) {
    reader.fail("type", "must not be empty");
  }
  condition.status = reader.requiredEnum<ConditionStatus>("status");
  condition.observedGeneration =
      reader.optionalInteger("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  condition.lastTransitionTime = reader.requiredTimestamp("lastTransitionTime");
  condition.reason = reader.requiredString("reason");
  condition.message = reader.requiredString("message");
  return condition;
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  const auto it = std::find_if(conditions.begin(), conditions.end(),
                               [type](const Condition& condition) { return condition.type == type; });
  return it == conditions.end() ? nullptr : &*it;
}

const Condition* findCondition(const std::optional<std::vector<Condition>>& conditions,
                               std::string_view type) {
  return conditions ? findCondition(*conditions, type) : nullptr;
}

const Condition* trueCondition(const std::optional<std::vector<Condition>>& conditions,
                               std::string_view type) {
  const Condition* condition = findCondition(conditions, type);
  return condition != nullptr && condition->status == ConditionStatus::True ? condition : nullptr;
}

}  // namespace virtsnap::meta
