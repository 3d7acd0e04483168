#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

std::string qualifiedResource(const ServedResource& type) {
  return type.group.empty() ? type.plural : type.plural + "." + type.group;
}

std::string qualifiedKind(const ServedResource& type) {
  return type.group.empty() ? type.kind : type.kind + "." + type.group;
}

ApiError notFoundError(const ServedResource& type, const std::string& name) {
  ApiError error;
  error.code = 404;
  error.reason = "NotFound";
  error.message = qualifiedResource(type) + " \"" + name + "\" not found";
  error.group = type.group;
  error.kind = type.plural;
  error.name = name;
  return error;
}

ApiError namespaceNotFoundError(const std::string& ns) {
  ApiError error;
  error.code = 404;
  error.reason = "NotFound";
  error.message = "namespaces \"" + ns + "\" not found";
  error.kind = "namespaces";
  error.name = ns;
  return error;
}

ApiError namespaceTerminatingError(const std::string& ns) {
  ApiError error;
  error.code = 403;
  error.reason = "Forbidden";
  error.message = "unable to create new content in namespace " + ns + " because it is being terminated";
  error.kind = "namespaces";
  error.name = ns;
  return error;
}

ApiError alreadyExistsError(const ServedResource& type, const std::string& name) {
  ApiError error;
  error.code = 409;
  error.reason = "AlreadyExists";
  error.message = qualifiedResource(type) + " \"" + name + "\" already exists";
  error.group = type.group;
  error.kind = type.plural;
  error.name = name;
  return error;
}

ApiError conflictError(const ServedResource& type, const std::string& name, const std::string& detail) {
  ApiError error;
  error.code = 409;
  error.reason = "Conflict";
  error.message =
      "Operation cannot be fulfilled on " + qualifiedResource(type) + " \"" + name + "\": " + detail;
  error.group = type.group;
  error.kind = type.plural;
  error.name = name;
  return error;
}

ApiError invalidError(const ServedResource& type, const std::string& name, std::vector<StatusCause> causes) {
  ApiError error;
  error.code = 422;
  error.reason = "Invalid";
  std::string list;
  for (const StatusCause& cause : causes) {
    if (!list.empty()) {
      list += ", ";
    }
    list += cause.field.empty() ? cause.message : cause.field + ": " + cause.message;
  }
  error.message =
      qualifiedKind(type) + " \"" + name + "\" is invalid: " + (causes.size() > 1 ? "[" + list + "]" : list);
  error.group = type.group;
  error.kind = type.kind;
  error.name = name;
  error.causes = std::move(causes);
  return error;
}

ApiError badRequestError(const std::string& message) {
  ApiError error;
  error.code = 400;
  error.reason = "BadRequest";
  error.message = message;
  return error;
}

ApiError expiredError(const std::string& message) {
  ApiError error;
  error.code = 410;
  error.reason = "Expired";
  error.message = message;
  return error;
}

ApiError internalError(const std::string& message) {
  ApiError error;
  error.code = 500;
  error.reason = "InternalError";
  error.message = "Internal error occurred: " + message;
  error.causes.push_back(StatusCause{"", message, ""});
  return error;
}

ApiError unsupportedMediaTypeError(const std::vector<std::string>& accepted) {
  std::string list;
  for (const std::string& type : accepted) {
    list += (list.empty() ? "" : ", ") + type;
  }
  ApiError error;
  error.code = 415;
  error.reason = "UnsupportedMediaType";
  error.message = "the body of the request was in an unknown format - accepted media types include: " + list;
  return error;
}

}  // namespace virtsnap::apiserver
