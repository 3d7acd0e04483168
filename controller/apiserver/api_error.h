#pragma once
// An error the API server answers with: a Kubernetes metav1.Status (code, reason, message, details).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crds/meta/status_cause.h"

namespace virtsnap::apiserver {

using meta::StatusCause;  // shared with the client (crds/meta/status_cause.h)

struct ApiError {
  int code = 500;  // HTTP status: 400 BadRequest, 404 NotFound, 409 Conflict/AlreadyExists, 410 Expired,
                   // 422 Invalid, 500 InternalError, 503 ServiceUnavailable ...
  std::string
      reason;  // metav1.StatusReason: BadRequest, NotFound, AlreadyExists, Conflict, Invalid, Expired, ...
  std::string message;  // for people, as kube-apiserver words it
  std::string group;    // details.group
  std::string kind;     // details.kind (the resource's plural, as kube-apiserver puts it)
  std::string name;     // details.name
  std::vector<StatusCause> causes;
  int retryAfterSeconds = 0;

  // The metav1.Status object for the response body.
  nlohmann::json toStatus() const;
};

}  // namespace virtsnap::apiserver
