#pragma once
// Where the bearer token of each request comes from. A static token (kubeconfig `token`) never
// changes; a token file (kubeconfig `tokenFile`, the in-cluster service-account token) is rotated by
// the kubelet, so it is re-read when the file's modification time changes and, in any case, once its
// copy is a minute old (client-go's cachingTokenSource period), on an injected clock.
// A failed re-read keeps serving the last good token, as client-go does: a rotation in progress
// (the kubelet swaps a symlink) must not fail requests. Thread-safe.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "base/clock.h"
#include "controller/kube/kube_error.h"

namespace virtsnap::kube {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The token to send now, or why there is none (ErrorKind::Unauthorized: no request can authenticate).
  virtual KubeResult<std::string> token() = 0;
};

using TokenSourcePtr = std::shared_ptr<TokenSource>;

TokenSourcePtr staticTokenSource(std::string token);

// Reads `path` on first use; surrounding whitespace (the trailing newline) is not part of the token.
TokenSourcePtr fileTokenSource(std::filesystem::path path, ClockPtr clock,
                               std::chrono::seconds maxAge = std::chrono::seconds(60));

}  // namespace virtsnap::kube
