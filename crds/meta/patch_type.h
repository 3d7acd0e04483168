#pragma once
// The patch formats of the Kubernetes API and their media types.

#include <optional>
#include <string_view>

namespace virtsnap::meta {

// application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json,
// application/apply-patch+yaml.
enum class PatchType { Merge, StrategicMerge, Json, Apply };

std::string_view patchContentType(PatchType type);
// The patch type of a Content-Type header (parameters such as "; charset=utf-8" ignored), if any.
std::optional<PatchType> patchTypeOfContentType(std::string_view contentType);

}  // namespace virtsnap::meta
