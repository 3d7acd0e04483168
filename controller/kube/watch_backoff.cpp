#include "controller/kube/watch_backoff.h"

#include <algorithm>

namespace virtsnap::kube {

WatchBackoff::WatchBackoff(BackoffPolicy policy, ClockPtr clock, RandomSourcePtr random)
    : policy_(policy), clock_(std::move(clock)), random_(std::move(random)), step_(policy_.initial) {}

std::chrono::nanoseconds WatchBackoff::next() {
  const auto now = clock_->now();
  if (lastFailure_ && now - *lastFailure_ >= policy_.resetAfter) {
    reset();
  }
  lastFailure_ = now;
  const std::chrono::duration<double, std::nano> max(policy_.max);
  const auto capped = std::min(step_, max);
  const auto jittered = std::min(max, capped * (1.0 + policy_.jitter * random_->uniform()));
  step_ = std::min(step_ * policy_.factor, max);
  ++attempts_;
  return std::max(std::chrono::duration_cast<std::chrono::nanoseconds>(jittered),
                  std::min(policy_.initial, policy_.max));
}

void WatchBackoff::reset() {
  step_ = policy_.initial;
  attempts_ = 0;
  lastFailure_.reset();
}

}  // namespace virtsnap::kube
