#include "controller/kube/token_bucket.h"

#include <algorithm>

namespace virtsnap::kube {

TokenBucket::TokenBucket(double qps, int burst, ClockPtr clock)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_->now()) {}

void TokenBucket::refill(Clock::TimePoint now) {
  if (now > last_) {
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * qps_);
    last_ = now;
  }
}

bool TokenBucket::tryTake() {
  if (qps_ <= 0) {
    return true;
  }
  std::lock_guard lock(mutex_);
  refill(clock_->now());
  if (tokens_ < 1.0) {
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

std::chrono::nanoseconds TokenBucket::reserve() {
  if (qps_ <= 0) {
    return std::chrono::nanoseconds(0);
  }
  std::lock_guard lock(mutex_);
  refill(clock_->now());
  tokens_ -= 1.0;
  if (tokens_ >= 0.0) {
    return std::chrono::nanoseconds(0);
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(-tokens_ / qps_));
}

void TokenBucket::take() {
  const std::chrono::nanoseconds wait = reserve();
  if (wait > std::chrono::nanoseconds(0)) {
    clock_->sleepUntil(clock_->now() + wait);
  }
}

}  // namespace virtsnap::kube
