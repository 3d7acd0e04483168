#pragma once
// A token bucket on an injected clock: `qps` tokens a second, at most `burst` saved up. Used for the
// REST client's QPS limit and the work queue's overall rate limit (client-go's BucketRateLimiter).

#include <chrono>
#include <mutex>

#include "base/clock.h"

namespace virtsnap::kube {

class TokenBucket {
 public:
  // qps <= 0 means unlimited.
  TokenBucket(double qps, int burst, ClockPtr clock);

  // Takes a token now if one is there.
  bool tryTake();
  // Takes the next token, possibly one not yet earned, and says how long to wait until it is (zero if
  // now): reservations queue up, so n callers at once are spaced 1/qps apart.
  std::chrono::nanoseconds reserve();
  // reserve(), then sleeps on the clock until the token is earned.
  void take();

 private:
  void refill(Clock::TimePoint now);  // needs mutex_

  const double qps_;
  const double burst_;
  const ClockPtr clock_;
  std::mutex mutex_;  // guards tokens_ and last_
  double tokens_;     // may go negative: tokens promised to reservations
  Clock::TimePoint last_;
};

}  // namespace virtsnap::kube
