#pragma once
// How long a key waits before it is retried (client-go's workqueue.TypedRateLimiter). when() is asked
// once per failure and remembers it; forget() ends the key's retry history once it succeeded (or gave
// up). Implementations are thread-safe: every worker of a queue calls them at once.

#include <chrono>
#include <memory>
#include <string>

namespace virtsnap::kube {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Records one more failure of `key` and says how long it should wait (never negative).
  virtual std::chrono::nanoseconds when(const std::string& key) = 0;
  // Stops tracking `key`: its next failure starts from the first delay again.
  virtual void forget(const std::string& key) = 0;
  // How many failures `key` has had since it was last forgotten.
  virtual int numRequeues(const std::string& key) = 0;
};

using RateLimiterPtr = std::unique_ptr<RateLimiter>;

}  // namespace virtsnap::kube
