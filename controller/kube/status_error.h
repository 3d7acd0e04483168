#pragma once
// From an API server's error answer to a KubeError, as client-go's apierrors reads it: a
// metav1.Status body decides by its reason (NotFound, AlreadyExists, Conflict, Expired/Gone,
// Invalid with details.causes, ...), the HTTP status decides when the reason is missing or unknown,
// and a body that is not a Status still yields a clear message naming the status. A Retry-After
// header or details.retryAfterSeconds becomes KubeError::retryAfter.

#include <string>

#include <nlohmann/json.hpp>

#include "controller/kube/kube_error.h"

namespace virtsnap::kube {

// The error for a non-2xx answer. `retryAfterHeader` is the Retry-After header's value ("" if none).
KubeError errorFromResponse(int httpStatus, const std::string& body,
                            const std::string& retryAfterHeader = "");

// The error a metav1.Status object describes (e.g. the object of a watch ERROR event); its `code`
// stands in for the HTTP status (500 when it has none).
KubeError errorFromStatus(const nlohmann::json& status);

// True for a metav1.Status object (kind "Status").
bool isStatus(const nlohmann::json& object);

}  // namespace virtsnap::kube
