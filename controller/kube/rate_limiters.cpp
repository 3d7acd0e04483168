#include "controller/kube/rate_limiters.h"

#include <algorithm>
#include <limits>

namespace virtsnap::kube {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(std::chrono::nanoseconds base,
                                                       std::chrono::nanoseconds max)
    : base_(std::max(base, std::chrono::nanoseconds(0))), max_(std::max(max, std::chrono::nanoseconds(0))) {}

std::chrono::nanoseconds ItemExponentialRateLimiter::when(const std::string& key) {
  int exponent = 0;
  {
    std::lock_guard lock(mutex_);
    int& failures = failures_[key];
    exponent = failures;
    if (failures < std::numeric_limits<int>::max()) {
      ++failures;
    }
  }
  // base * 2^exponent <= max exactly when base <= floor(max / 2^exponent): compare before shifting so
  // the product is never formed when it would not fit.
  const auto base = base_.count();
  const auto max = max_.count();
  if (base == 0) {
    return std::chrono::nanoseconds(0);
  }
  if (exponent >= std::numeric_limits<decltype(max)>::digits || base > (max >> exponent)) {
    return max_;
  }
  return std::chrono::nanoseconds(base << exponent);
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::numRequeues(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto found = failures_.find(key);
  return found == failures_.end() ? 0 : found->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, ClockPtr clock)
    : bucket_(qps, burst, std::move(clock)) {}

std::chrono::nanoseconds BucketRateLimiter::when(const std::string& /*key*/) {
  return bucket_.reserve();
}

void BucketRateLimiter::forget(const std::string& /*key*/) {}

int BucketRateLimiter::numRequeues(const std::string& /*key*/) {
  return 0;
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters) : limiters_(std::move(limiters)) {}

std::chrono::nanoseconds MaxOfRateLimiter::when(const std::string& key) {
  std::chrono::nanoseconds longest(0);
  for (const RateLimiterPtr& limiter : limiters_) {
    longest = std::max(longest, limiter->when(key));
  }
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (const RateLimiterPtr& limiter : limiters_) {
    limiter->forget(key);
  }
}

int MaxOfRateLimiter::numRequeues(const std::string& key) {
  int most = 0;
  for (const RateLimiterPtr& limiter : limiters_) {
    most = std::max(most, limiter->numRequeues(key));
  }
  return most;
}

RateLimiterPtr defaultControllerRateLimiter(ClockPtr clock) {
  std::vector<RateLimiterPtr> limiters;
  limiters.push_back(
      std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(5), std::chrono::seconds(1000)));
  limiters.push_back(std::make_unique<BucketRateLimiter>(/*qps=*/10.0, /*burst=*/100, std::move(clock)));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace virtsnap::kube
