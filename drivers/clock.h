#pragma once
// Time, injected: code that waits or spaces operations asks a Clock, so tests run on a fake one
// without sleeping.

#include <chrono>
#include <memory>

namespace virtsnap::drivers {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual void sleepUntil(TimePoint deadline) = 0;
};

using ClockPtr = std::shared_ptr<Clock>;

// The real steady clock.
ClockPtr systemClock();

}  // namespace virtsnap::drivers
