#pragma once
// The delay before a watcher tries again after a failure, as kube-rs's DefaultBackoff and client-go's
// reflector backoff do it: 800 ms, doubling up to 30 s, with random jitter so that agents that lost the
// same API server do not come back in step, and back to 800 ms once 120 s pass without a failure (so a
// long-lived healthy watch that drops once is retried quickly, while a flapping one is slowed down).
//
// Guarantees: every delay is in [initial, max]; the n-th delay after a reset is
// min(max, initial * factor^n * (1 + jitter * u)) with u uniform in [0, 1) from the injected
// RandomSource; the time comes from the injected Clock. Not thread-safe: one owner (the watcher thread).

#include <chrono>
#include <optional>

#include "base/clock.h"
#include "base/random_source.h"

namespace virtsnap::kube {

struct BackoffPolicy {
  std::chrono::nanoseconds initial = std::chrono::milliseconds(800);
  double factor = 2.0;
  std::chrono::nanoseconds max = std::chrono::seconds(30);
  double jitter = 0.5;  // the largest random addition, as a fraction of the current step
  std::chrono::nanoseconds resetAfter = std::chrono::seconds(120);  // quiet time that starts over
};

class WatchBackoff {
 public:
  WatchBackoff(BackoffPolicy policy, ClockPtr clock, RandomSourcePtr random);

  // A failure happened now: how long to wait before the next attempt.
  std::chrono::nanoseconds next();
  // Starts over at the initial delay.
  void reset();
  // How many delays were handed out since the last reset (0 after a reset).
  int attempts() const { return attempts_; }

 private:
  const BackoffPolicy policy_;
  const ClockPtr clock_;
  const RandomSourcePtr random_;
  std::chrono::duration<double, std::nano> step_;  // the unjittered delay of the next failure
  int attempts_ = 0;
  std::optional<Clock::TimePoint> lastFailure_;
};

}  // namespace virtsnap::kube
