#pragma once
// Time, injected: code that waits or spaces operations asks a Clock, so tests run on a fake one
// without sleeping.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace virtsnap::drivers {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual void sleepUntil(TimePoint deadline) = 0;
  // Waits on `condition` (whose mutex `lock` holds) until it is notified or `deadline` passes on this
  // clock; may return early (spuriously), so callers re-check their predicate and now() in a loop.
  virtual void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& condition,
                         TimePoint deadline) = 0;
};

using ClockPtr = std::shared_ptr<Clock>;

// The real steady clock.
ClockPtr systemClock();

}  // namespace virtsnap::drivers
