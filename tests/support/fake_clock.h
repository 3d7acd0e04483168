#pragma once
// A Clock for tests: time moves only when the test (or a sleep) moves it, so waits cost nothing and
// every sleep is recorded.

#include <mutex>
#include <vector>

#include "drivers/clock.h"

namespace virtsnap::testing {

class FakeClock final : public drivers::Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  // A sleep returns at once, with the clock moved to the deadline.
  void sleepUntil(TimePoint deadline) override {
    std::lock_guard lock(mutex_);
    sleeps_.push_back(deadline - now_);
    if (deadline > now_) {
      now_ = deadline;
    }
  }
  void advance(std::chrono::nanoseconds by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }
  std::vector<std::chrono::nanoseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_{std::chrono::hours(1)};
  std::vector<std::chrono::nanoseconds> sleeps_;
};

}  // namespace virtsnap::testing
