#include "controller/kube/status_error.h"

#include <charconv>
#include <optional>

#include "controller/kube/json_fields.h"

namespace virtsnap::kube {

namespace {

// The kind a known metav1.StatusReason names; nullopt for reasons client-go does not know, which
// leaves the decision to the HTTP status (apierrors' reasonAndCodeForError / knownReasons).
std::optional<ErrorKind> kindOfReason(const std::string& reason) {
  if (reason == "NotFound") {
    return ErrorKind::NotFound;
  }
  if (reason == "AlreadyExists") {
    return ErrorKind::AlreadyExists;
  }
  if (reason == "Conflict") {
    return ErrorKind::Conflict;
  }
  if (reason == "Gone" || reason == "Expired") {
    return ErrorKind::Gone;
  }
  if (reason == "Invalid") {
    return ErrorKind::Invalid;
  }
  if (reason == "BadRequest" || reason == "MethodNotAllowed" || reason == "NotAcceptable" ||
      reason == "RequestEntityTooLarge" || reason == "UnsupportedMediaType") {
    return ErrorKind::BadRequest;
  }
  if (reason == "Unauthorized") {
    return ErrorKind::Unauthorized;
  }
  if (reason == "Forbidden") {
    return ErrorKind::Forbidden;
  }
  if (reason == "TooManyRequests") {
    return ErrorKind::TooManyRequests;
  }
  if (reason == "Timeout" || reason == "ServerTimeout") {
    return ErrorKind::Timeout;
  }
  if (reason == "InternalError" || reason == "ServiceUnavailable") {
    return ErrorKind::ServerError;
  }
  return std::nullopt;
}

ErrorKind kindOfStatus(int httpStatus) {
  switch (httpStatus) {
    case 401:
      return ErrorKind::Unauthorized;
    case 403:
      return ErrorKind::Forbidden;
    case 404:
      return ErrorKind::NotFound;
    case 409:
      return ErrorKind::Conflict;
    case 410:
      return ErrorKind::Gone;
    case 422:
      return ErrorKind::Invalid;
    case 429:
      return ErrorKind::TooManyRequests;
    case 504:
      return ErrorKind::Timeout;
    default:
      return httpStatus >= 500 ? ErrorKind::ServerError : ErrorKind::BadRequest;
  }
}

// client-go's wording for an answer without a Status (apierrors.NewGenericServerResponse).
std::string genericMessage(int httpStatus, const std::string& body) {
  std::string snippet = body.substr(0, 256);
  while (!snippet.empty() && (snippet.back() == '\n' || snippet.back() == '\r' || snippet.back() == ' ')) {
    snippet.pop_back();
  }
  std::string message;
  switch (httpStatus) {
    case 400:
      message = "the server rejected our request for an unknown reason";
      break;
    case 401:
      message = "the server has asked for the client to provide credentials";
      break;
    case 403:
      message = "the server does not allow access to the requested resource";
      break;
    case 404:
      message = "the server could not find the requested resource";
      break;
    case 409:
      message = "the server reported a conflict";
      break;
    case 410:
      message = "the requested resource version is gone";
      break;
    case 422:
      message = "the server rejected our request due to an error in our request";
      break;
    case 429:
      message = "the server has received too many requests and has asked us to try again later";
      break;
    case 503:
      message = "the server is currently unable to handle the request";
      break;
    case 504:
      message =
          "the server was unable to return a response in the time allotted, but may still be "
          "processing the request";
      break;
    default:
      message = httpStatus >= 500 ? "an error on the server has prevented the request from succeeding"
                                  : "unexpected answer from the server";
  }
  message += " (HTTP " + std::to_string(httpStatus) + ")";
  if (!snippet.empty()) {
    message += ": " + snippet;
  }
  return message;
}

std::optional<std::chrono::seconds> parseRetryAfter(const std::string& header) {
  int seconds = 0;
  const char* end = header.data() + header.size();
  auto [at, failed] = std::from_chars(header.data(), end, seconds);
  if (failed != std::errc() || at != end || seconds <= 0) {
    return std::nullopt;  // an HTTP-date is legal too, but the API server never sends one
  }
  return std::chrono::seconds(seconds);
}

}  // namespace

bool isStatus(const nlohmann::json& object) {
  return object.is_object() && stringField(object, "kind") == "Status";
}

KubeError errorFromStatus(const nlohmann::json& status) {
  int code = 500;
  if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) {
    code = it->get<int>();
  }
  KubeError error;
  error.httpStatus = code;
  error.reason = stringField(status, "reason");
  error.message = stringField(status, "message");
  error.kind = kindOfReason(error.reason).value_or(kindOfStatus(code));
  if (error.message.empty()) {
    error.message = genericMessage(code, "");
  }
  auto details = status.find("details");
  if (details != status.end() && details->is_object()) {
    if (auto causes = details->find("causes"); causes != details->end() && causes->is_array()) {
      for (const nlohmann::json& cause : *causes) {
        if (cause.is_object()) {
          error.causes.push_back(StatusCause{stringField(cause, "reason"), stringField(cause, "message"),
                                             stringField(cause, "field")});
        }
      }
    }
    if (auto retry = details->find("retryAfterSeconds");
        retry != details->end() && retry->is_number_integer() && retry->get<long long>() > 0) {
      error.retryAfter = std::chrono::seconds(retry->get<long long>());
    }
  }
  return error;
}

KubeError errorFromResponse(int httpStatus, const std::string& body, const std::string& retryAfterHeader) {
  KubeError error;
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (isStatus(parsed)) {
    error = errorFromStatus(parsed);
    error.httpStatus = httpStatus;  // the answer's own status wins over the body's code
    if (!kindOfReason(error.reason)) {
      error.kind = kindOfStatus(httpStatus);
    }
  } else {
    error.httpStatus = httpStatus;
    error.kind = kindOfStatus(httpStatus);
    error.message = genericMessage(httpStatus, body);
  }
  if (!error.retryAfter) {
    error.retryAfter = parseRetryAfter(retryAfterHeader);
  }
  return error;
}

}  // namespace virtsnap::kube
