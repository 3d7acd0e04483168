#include "controller/apiserver/fault_injector.h"

namespace virtsnap::apiserver {

void FaultInjector::seed(std::uint64_t seed) {
  std::lock_guard lock(mutex_);
  random_.seed(seed);
}

void FaultInjector::add(Fault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FaultInjector::clear() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

std::optional<Fault> FaultInjector::match(const std::string& method, const std::string& path, bool watch,
                                          const std::string& userAgent) {
  std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if ((!it->method.empty() && it->method != method) || path.rfind(it->pathPrefix, 0) != 0 ||
        (it->watchOnly && !watch) || userAgent.rfind(it->userAgent, 0) != 0) {
      continue;
    }
    // A uniform draw in [0, 1) from the top 53 bits: the same on every standard library.
    if (it->probability < 1.0 && static_cast<double>(random_() >> 11) * 0x1.0p-53 >= it->probability) {
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
