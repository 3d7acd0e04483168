#pragma once
// A list's continue token as kube-apiserver writes it: unpadded URL-safe base64 of
// {"v":"meta.k8s.io/v1","rv":<the list's resourceVersion>,"start":"<namespace>/<name>\u0000"}, where
// start is just past the last object returned, so the next page begins after it.

#include <cstdint>
#include <optional>
#include <string>

namespace virtsnap::apiserver {

struct ContinueToken {
  std::uint64_t resourceVersion = 0;  // every page is served at the first page's resourceVersion
  std::string ns;                     // the last object returned
  std::string name;
};

std::string encodeContinueToken(const ContinueToken& token);
// nullopt for anything this server did not write.
std::optional<ContinueToken> decodeContinueToken(const std::string& text);

}  // namespace virtsnap::apiserver
