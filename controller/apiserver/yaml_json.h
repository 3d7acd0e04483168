#pragma once
// YAML documents as JSON values, the way Kubernetes reads manifests: a quoted scalar is always a
// string; a plain one is null, a bool, an integer or a float when it reads as one (YAML 1.2 core
// schema), else a string.

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

// Every non-empty document of `text`; an error message (with the line) for malformed YAML.
Expected<std::vector<nlohmann::json>, std::string> yamlDocumentsToJson(std::string_view text);

}  // namespace virtsnap::apiserver
