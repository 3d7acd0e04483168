#pragma once
// The rate limiters client-go's controllers use (util/workqueue/default_rate_limiters.go): per-key
// exponential backoff, an overall token bucket, and the maximum of several. The default controller
// limiter is the maximum of 5 ms..1000 s per key and 10 qps / burst 100 overall.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "controller/kube/rate_limiter.h"
#include "controller/kube/token_bucket.h"

namespace virtsnap::kube {

// base * 2^failures, capped at `max`; the n-th failure of a key since forget() waits base * 2^(n-1).
// Never overflows, however many failures a key has had.
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  ItemExponentialRateLimiter(std::chrono::nanoseconds base, std::chrono::nanoseconds max);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string& key) override;
  int numRequeues(const std::string& key) override;

 private:
  const std::chrono::nanoseconds base_;
  const std::chrono::nanoseconds max_;
  std::mutex mutex_;                               // guards failures_
  std::unordered_map<std::string, int> failures_;  // keys with at least one failure
};

// One token bucket for all keys: past the burst, retries are spaced 1/qps apart whatever the key, so a
// storm of failures cannot become a hot loop. Keeps no per-key state.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, ClockPtr clock);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string& key) override;
  int numRequeues(const std::string& key) override;

 private:
  TokenBucket bucket_;  // thread-safe on its own
};

// Asks every limiter (so each records the failure) and waits for the longest answer.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string& key) override;
  int numRequeues(const std::string& key) override;

 private:
  const std::vector<RateLimiterPtr> limiters_;  // each thread-safe on its own
};

// client-go's DefaultTypedControllerRateLimiter: max(exponential 5 ms..1000 s per key, 10 qps burst 100).
RateLimiterPtr defaultControllerRateLimiter(ClockPtr clock);

}  // namespace virtsnap::kube
