#include "crds/condition.h"

#include <limits>

#include "crds/object_writer.h"

namespace virtsnap::crds {

void to_json(nlohmann::json& json, const Condition& condition) {
  json = nlohmann::json::object();
  json["type"] = condition.type;
  PutField(json, "status", condition.status);
  PutOptional(json, "observedGeneration", condition.observed_generation);
  json["lastTransitionTime"] = condition.last_transition_time;
  json["reason"] = condition.reason;
  json["message"] = condition.message;
}

Condition DecodeCondition(const ObjectReader& reader) {
  Condition condition;
  condition.type = reader.RequiredString("type");
  if (condition.type.empty()) {
    reader.Fail("type", "must not be empty");
  }
  condition.status = reader.RequiredEnum<ConditionStatus>("status");
  condition.observed_generation =
      reader.OptionalInteger("observedGeneration", 0, std::numeric_limits<std::int64_t>::max());
  condition.last_transition_time = reader.RequiredTimestamp("lastTransitionTime");
  condition.reason = reader.RequiredString("reason");
  condition.message = reader.RequiredString("message");
  return condition;
}

}  // namespace virtsnap::crds
