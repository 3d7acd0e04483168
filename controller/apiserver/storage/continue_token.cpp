#include "controller/apiserver/storage/continue_token.h"

#include <nlohmann/json.hpp>

#include "controller/apiserver/storage/object_fields.h"
#include "crds/meta/base64.h"

namespace virtsnap::apiserver {

using nlohmann::json;

std::string encodeContinueToken(const ContinueToken& token) {
  const json content{
      {"v", "meta.k8s.io/v1"}, {"rv", token.resourceVersion}, {"start", token.ns + "/" + token.name + '\0'}};
  return meta::base64Encode(content.dump(), meta::Base64Alphabet::RawUrl);
}

std::optional<ContinueToken> decodeContinueToken(const std::string& text) {
  auto decoded = meta::base64Decode(text);
  json content = decoded ? json::parse(*decoded, nullptr, false) : json();
  std::string start = content.is_object() ? stringField(content, "start") : std::string();
  std::size_t slash = start.find('/');
  if (!content.is_object() || stringField(content, "v") != "meta.k8s.io/v1" || slash == std::string::npos ||
      !content.contains("rv") || !content["rv"].is_number_unsigned()) {
    return std::nullopt;
  }
  std::string name = start.substr(slash + 1);
  if (!name.empty() && name.back() == '\0') {
    name.pop_back();
  }
  return ContinueToken{content["rv"].get<std::uint64_t>(), start.substr(0, slash), name};
}

}  // namespace virtsnap::apiserver
