#pragma once
// The ApiErrors the object store answers with, worded as kube-apiserver words them
// (k8s.io/apimachinery/pkg/api/errors), so that clients matching on reason or message behave the same.

#include <string>
#include <vector>

#include "controller/apiserver/api_error.h"
#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

// "domains.virtsnap.io" / "namespaces": the group-qualified resource of messages.
std::string qualifiedResource(const ServedResource& type);
// "Domain.virtsnap.io" / "Namespace": the group-qualified kind of Invalid messages.
std::string qualifiedKind(const ServedResource& type);

ApiError notFoundError(const ServedResource& type, const std::string& name);
ApiError namespaceNotFoundError(const std::string& ns);
// 403, as kube-apiserver refuses new objects in a namespace that is being deleted.
ApiError namespaceTerminatingError(const std::string& ns);
ApiError alreadyExistsError(const ServedResource& type, const std::string& name);
// 409 Conflict: `Operation cannot be fulfilled on <resource> "<name>": <detail>`.
ApiError conflictError(const ServedResource& type, const std::string& name, const std::string& detail);
// The detail of a stale resourceVersion.
inline constexpr const char* kObjectModified =
    "the object has been modified; please apply your changes to the latest version and try again";
// 422 Invalid: `<Kind.group> "<name>" is invalid: <field: message>` (a list in brackets when several).
ApiError invalidError(const ServedResource& type, const std::string& name, std::vector<StatusCause> causes);
ApiError badRequestError(const std::string& message);
ApiError expiredError(const std::string& message);
ApiError internalError(const std::string& message);
ApiError unsupportedMediaTypeError(const std::vector<std::string>& accepted);

}  // namespace virtsnap::apiserver
