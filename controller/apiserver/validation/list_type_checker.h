#pragma once
// x-kubernetes-list-type set and map (structurallisttype.ValidateListSetsAndMaps): no duplicate items
// in a set, no two items of a map list with the same keys.

#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver::validation {

// Appends a cause for every duplicate in `object`'s set and map lists (from its root).
void checkListTypes(const nlohmann::json& object, const nlohmann::json& schema,
                    std::vector<StatusCause>& causes);

}  // namespace virtsnap::apiserver::validation
