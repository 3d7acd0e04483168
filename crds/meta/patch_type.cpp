#include "crds/meta/patch_type.h"

#include <array>
#include <utility>

namespace virtsnap::meta {

namespace {

constexpr std::array<std::pair<PatchType, std::string_view>, 4> kContentTypes{{
    {PatchType::Merge, "application/merge-patch+json"},
    {PatchType::StrategicMerge, "application/strategic-merge-patch+json"},
    {PatchType::Json, "application/json-patch+json"},
    {PatchType::Apply, "application/apply-patch+yaml"},
}};

}  // namespace

std::string_view patchContentType(PatchType type) {
  for (const auto& [candidate, name] : kContentTypes) {
    if (candidate == type) {
      return name;
    }
  }
  return kContentTypes.front().second;
}

std::optional<PatchType> patchTypeOfContentType(std::string_view contentType) {
  std::string_view mediaType = contentType.substr(0, contentType.find(';'));
  while (!mediaType.empty() && mediaType.back() == ' ') {
    mediaType.remove_suffix(1);
  }
  if (mediaType == "application/apply-patch+json") {  // what some clients send for apply
    return PatchType::Apply;
  }
  for (const auto& [type, name] : kContentTypes) {
    if (mediaType == name) {
      return type;
    }
  }
  return std::nullopt;
}

}  // namespace virtsnap::meta
