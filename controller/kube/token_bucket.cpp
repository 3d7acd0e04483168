#include "controller/kube/token_bucket.h"

#include <algorithm>

namespace virtsnap::kube {

void TokenCount::refill(Clock::TimePoint now, double qps, double burst) {
  if (now > last) {
    const double seconds = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + seconds * qps);
    last = now;
  }
}

bool TokenCount::tryTake(Clock::TimePoint now, double qps, double burst) {
  if (qps <= 0) {
    return true;
  }
  refill(now, qps, burst);
  if (tokens < 1.0) {
    return false;
  }
  tokens -= 1.0;
  return true;
}

TokenBucket::TokenBucket(double qps, int burst, ClockPtr clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(std::move(clock)), count_(burst_, clock_->now()) {}

bool TokenBucket::tryTake() {
  if (qps_ <= 0) {
    return true;
  }
  std::lock_guard lock(mutex_);
  return count_.tryTake(clock_->now(), qps_, burst_);
}

std::chrono::nanoseconds TokenBucket::reserve() {
  if (qps_ <= 0) {
    return std::chrono::nanoseconds(0);
  }
  std::lock_guard lock(mutex_);
  count_.refill(clock_->now(), qps_, burst_);
  count_.tokens -= 1.0;
  if (count_.tokens >= 0.0) {
    return std::chrono::nanoseconds(0);
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(-count_.tokens / qps_));
}

void TokenBucket::take() {
  const std::chrono::nanoseconds wait = reserve();
  if (wait > std::chrono::nanoseconds(0)) {
    clock_->sleepUntil(clock_->now() + wait);
  }
}

}  // namespace virtsnap::kube
