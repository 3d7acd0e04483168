#include "controller/apiserver/validation/schema_validator.h"

#include <algorithm>

#include "controller/apiserver/validation/field_errors.h"
#include "controller/apiserver/validation/list_type_checker.h"
#include "controller/apiserver/validation/pruning_and_defaults.h"
#include "controller/apiserver/validation/rule_checker.h"
#include "controller/apiserver/validation/schema_checker.h"

namespace virtsnap::apiserver {

namespace {

using nlohmann::json;

// CEL rules are not run over a value of the wrong type or an unsupported enum value (hasBlockingErr).
bool blocksRules(const std::vector<StatusCause>& causes) {
  return std::any_of(causes.begin(), causes.end(), [](const StatusCause& c) {
    return c.reason == "FieldValueTypeInvalid" || c.reason == "FieldValueNotSupported";
  });
}

}  // namespace

ValidationOutcome validateObject(const ServedResource& type, json& object, const json* old,
                                 FieldValidation fieldValidation) {
  ValidationOutcome outcome;
  if (!type.schema.is_object() || !object.is_object()) {
    return outcome;
  }
  const json& schema = type.schema;

  std::vector<std::string> pruned;
  validation::prune(object, schema, "", true, pruned);
  std::sort(pruned.begin(), pruned.end());
  if (fieldValidation == FieldValidation::Strict && !pruned.empty()) {
    for (const auto& path : pruned) {
      outcome.causes.push_back({"FieldValueUnknown", "unknown field \"" + path + "\"", path});
    }
    return outcome;
  }
  if (fieldValidation == FieldValidation::Warn) {
    for (const auto& path : pruned) {
      outcome.warnings.push_back("unknown field \"" + path + "\"");
    }
  }

  validation::pruneNonNullableNullsWithoutDefaults(object, schema, true);
  validation::applyDefaults(object, schema, true);

  validation::checkSchema(object, schema, outcome.causes);
  validation::checkListTypes(object, schema, outcome.causes);
  if (blocksRules(outcome.causes)) {
    outcome.causes.push_back(
        validation::invalid(validation::kNoField, json(),
                            "some validation rules were not checked because the object was "
                            "invalid; correct the existing errors to complete validation"));
    return outcome;
  }
  validation::checkRules(object, old, schema, outcome.causes);
  return outcome;
}

}  // namespace virtsnap::apiserver
