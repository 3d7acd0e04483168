#pragma once
// apiextensions-apiserver's structural pruning and defaulting, applied to an object in place before
// it is validated. At the root, apiVersion, kind and metadata are left to the store.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::apiserver::validation {

// Removes the fields the schema does not know (kept below x-kubernetes-preserve-unknown-fields and
// additionalProperties: true) and appends their paths to `pruned`.
void prune(nlohmann::json& value, const nlohmann::json& schema, const std::string& path, bool root,
           std::vector<std::string>& pruned);

// Drops nulls the schema does not allow (not nullable) and has no default for.
void pruneNonNullableNullsWithoutDefaults(nlohmann::json& value, const nlohmann::json& schema, bool root);

// Defaults fill absent fields (and non-nullable nulls); defaulted values are defaulted further inside.
void applyDefaults(nlohmann::json& value, const nlohmann::json& schema, bool root);

}  // namespace virtsnap::apiserver::validation
