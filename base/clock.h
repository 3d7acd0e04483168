#pragma once
// Time, injected: code that waits, spaces operations or stamps objects asks a clock, so tests run on
// a fake one without sleeping. Clock is monotonic (durations, timeouts, backoff); WallClock is the
// calendar time that API timestamps (RFC 3339, MicroTime) come from.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace virtsnap {

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

// Calendar time for timestamps; a null WallClock means std::chrono::system_clock::now.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

// `clock()` if set, the system's calendar time otherwise.
std::chrono::system_clock::time_point wallNow(const WallClock& clock);

}  // namespace virtsnap
