#pragma once
// YAML documents as JSON values, the way Kubernetes reads manifests: a quoted scalar is always a
// string; a plain one is null, a bool, an integer or a float when it reads as one (YAML 1.2 core
// schema), else a string. Refuses what kube's decoder refuses: invalid UTF-8, absurd nesting and
// alias expansion far beyond the document's size.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::meta {

enum class PlainScalars {
  Resolved,  // null, bool, integer, float or string, as above (manifests, request bodies)
  Text,      // null stays null, everything else a string (readers of string fields: `token: 0123`)
};

struct YamlOptions {
  int maxNestingDepth = 1000;  // sequences and maps nested deeper are refused
  PlainScalars plainScalars = PlainScalars::Resolved;
};

// Every non-empty document of `text`; an error message (with the line) for malformed YAML.
Expected<std::vector<nlohmann::json>, std::string> yamlDocumentsToJson(std::string_view text,
                                                                       const YamlOptions& options = {});

}  // namespace virtsnap::meta
