#pragma once
// kube-openapi's validate package over a structural schema: types (int-or-string included), anyOf,
// enum, string lengths, patterns and formats, numeric bounds, item and property counts, required
// fields, with kube-openapi's wording.

#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver::validation {

// Appends a cause for every keyword `object` (a whole object, from its root) breaks.
void checkSchema(const nlohmann::json& object, const nlohmann::json& schema,
                 std::vector<StatusCause>& causes);

}  // namespace virtsnap::apiserver::validation
