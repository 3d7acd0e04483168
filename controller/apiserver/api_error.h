#pragma once
// An error the API server answers with: a Kubernetes metav1.Status (code, reason, message, details).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::apiserver {

// One field-level problem, as metav1.StatusCause: reason e.g. "FieldValueInvalid", "FieldValueRequired",
// "FieldValueNotSupported", "FieldValueDuplicate", "FieldValueTooLong", "FieldValueForbidden",
// "FieldValueTypeInvalid"; field e.g. "spec.vcpus" (Kubernetes path form, with [i] for list items).
struct StatusCause {
  std::string reason;
  std::string message;
  std::string field;

  bool operator==(const StatusCause&) const = default;
};

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
