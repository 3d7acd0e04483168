#pragma once
// What can go wrong talking to a Kubernetes API server, as a value: every client call returns either
// its result or a KubeError, and no exception leaves controller/kube.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.h"
#include "crds/meta/status_cause.h"

namespace virtsnap::kube {

enum class ErrorKind {
  NotFound,         // 404
  AlreadyExists,    // 409 with reason AlreadyExists
  Conflict,         // 409: a stale resourceVersion (or a precondition)
  Gone,             // 410: the resourceVersion is too old; relist
  Invalid,          // 422, with causes naming the fields
  BadRequest,       // 400 and other 4xx the caller must fix
  Unauthorized,     // 401
  Forbidden,        // 403
  TooManyRequests,  // 429, with retryAfter
  ServerError,      // 5xx
  Timeout,          // the call's deadline passed
  Network,          // no answer: refused, reset, TLS, dropped
  Decode,           // the answer was not what the API promises
  Cancelled,        // the caller stopped it
};

const char* errorKindName(ErrorKind kind);

using meta::StatusCause;  // shared with the API server (crds/meta/status_cause.h)

struct KubeError {
  ErrorKind kind = ErrorKind::Network;
  int httpStatus = 0;  // 0 when no HTTP answer came
  std::string reason;  // metav1.Status reason, when the server sent one
  std::string message;
  std::vector<StatusCause> causes;
  std::optional<std::chrono::seconds> retryAfter;

  // Worth trying again unchanged: network trouble, timeouts, 429 and 5xx.
  bool retryable() const;
  // "Conflict (409): <message>", plus the causes.
  std::string describe() const;
};

template <typename T>
using KubeResult = Expected<T, KubeError>;

}  // namespace virtsnap::kube
