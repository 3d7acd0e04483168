#include "controller/kube/kube_error.h"

namespace virtsnap::kube {

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound:
      return "NotFound";
    case ErrorKind::AlreadyExists:
      return "AlreadyExists";
    case ErrorKind::Conflict:
      return "Conflict";
    case ErrorKind::Gone:
      return "Gone";
    case ErrorKind::Invalid:
      return "Invalid";
    case ErrorKind::BadRequest:
      return "BadRequest";
    case ErrorKind::Unauthorized:
      return "Unauthorized";
    case ErrorKind::Forbidden:
      return "Forbidden";
    case ErrorKind::TooManyRequests:
      return "TooManyRequests";
    case ErrorKind::ServerError:
      return "ServerError";
    case ErrorKind::Timeout:
      return "Timeout";
    case ErrorKind::Network:
      return "Network";
    case ErrorKind::Decode:
      return "Decode";
    case ErrorKind::Cancelled:
      return "Cancelled";
  }
  return "Unknown";
}

bool KubeError::retryable() const {
  switch (kind) {
    case ErrorKind::TooManyRequests:
    case ErrorKind::ServerError:
    case ErrorKind::Timeout:
    case ErrorKind::Network:
      return true;
    default:
      return false;
  }
}

std::string KubeError::describe() const {
  std::string text = errorKindName(kind);
  if (httpStatus != 0) {
    text += " (" + std::to_string(httpStatus) + ")";
  }
  text += ": " + message;
  // kube-apiserver's Invalid messages already list their causes; add only those they leave out.
  for (const StatusCause& cause : causes) {
    if (message.find(cause.message) == std::string::npos) {
      text += "; " + (cause.field.empty() ? std::string() : cause.field + ": ") + cause.message;
    }
  }
  return text;
}

}  // namespace virtsnap::kube
