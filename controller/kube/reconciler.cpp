#include "controller/kube/reconciler.h"

namespace virtsnap::kube {

std::string Request::key() const {
  return ns.empty() ? name : ns + "/" + name;
}

std::optional<Request> Request::fromKey(std::string_view key) {
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos) {
    if (key.empty()) {
      return std::nullopt;
    }
    return Request{"", std::string(key)};
  }
  const std::string_view ns = key.substr(0, slash);
  const std::string_view name = key.substr(slash + 1);
  if (ns.empty() || name.empty() || name.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return Request{std::string(ns), std::string(name)};
}

}  // namespace virtsnap::kube
