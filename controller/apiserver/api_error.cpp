#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver {

nlohmann::json ApiError::toStatus() const {
  nlohmann::json status{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                        {"status", "Failure"}, {"message", message}, {"reason", reason},
                        {"code", code}};
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) {
    details["name"] = name;
  }
  if (!group.empty()) {
    details["group"] = group;
  }
  if (!kind.empty()) {
    details["kind"] = kind;
  }
  if (!causes.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const StatusCause& cause : causes) {
      list.push_back({{"reason", cause.reason}, {"message", cause.message}, {"field", cause.field}});
    }
    details["causes"] = std::move(list);
  }
  if (retryAfterSeconds > 0) {
    details["retryAfterSeconds"] = retryAfterSeconds;
  }
  if (!details.empty()) {
    status["details"] = std::move(details);
  }
  return status;
}

}  // namespace virtsnap::apiserver
