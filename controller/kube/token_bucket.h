#pragma once
// A token bucket on an injected clock: `qps` tokens a second, at most `burst` saved up. Used for the
// REST client's QPS limit and the work queue's overall rate limit (client-go's BucketRateLimiter).

#include <chrono>
#include <mutex>

#include "base/clock.h"

namespace virtsnap::kube {

// A bucket's tokens without its clock or lock, for an owner that keeps many buckets under one lock of
// its own (the event correlator, one per object).
struct TokenCount {
  TokenCount(double burst, Clock::TimePoint now) : tokens(burst), last(now) {}
  // Adds what `qps` earned since `last`, up to `burst`.
  void refill(Clock::TimePoint now, double qps, double burst);
  // refill(), then takes a token if one is there.
  bool tryTake(Clock::TimePoint now, double qps, double burst);

  double tokens;  // may go negative: tokens promised to reservations
  Clock::TimePoint last;
};

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
  const double qps_;
  const double burst_;
  const ClockPtr clock_;
  std::mutex mutex_;  // guards count_
  TokenCount count_;
};

}  // namespace virtsnap::kube
