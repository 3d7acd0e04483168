#pragma once
// x-kubernetes-validations, as apiextensions-apiserver's CEL validator runs them: every rule on the
// value its schema describes, transition rules (those naming oldSelf) only where an old value exists,
// with the rule's message, messageExpression, fieldPath and reason.

#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver::validation {

// Appends a cause for every rule `object` (a whole object, from its root) fails; `old` is the stored
// object on update, nullptr on create.
void checkRules(const nlohmann::json& object, const nlohmann::json* old, const nlohmann::json& schema,
                std::vector<StatusCause>& causes);

}  // namespace virtsnap::apiserver::validation
