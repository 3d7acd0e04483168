#include "controller/apiserver/fault_injector.h"

namespace virtsnap::apiserver {

void FaultInjector::add(Fault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FaultInjector::clear() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

std::optional<Fault> FaultInjector::match(const std::string& method, const std::string& path, bool watch) {
  std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if ((!it->method.empty() && it->method != method) || path.rfind(it->pathPrefix, 0) != 0 ||
        (it->watchOnly && !watch)) {
      continue;
    }
    Fault fault = *it;
    if (it->times > 0 && --it->times == 0) {
      faults_.erase(it);
    }
    ++injected_;
    return fault;
  }
  return std::nullopt;
}

int FaultInjector::injected() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

}  // namespace virtsnap::apiserver
