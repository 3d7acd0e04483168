#include "base/clock.h"

#include <thread>

namespace virtsnap {

namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  void sleepUntil(TimePoint deadline) override { std::this_thread::sleep_until(deadline); }
  void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& condition,
                 TimePoint deadline) override {
    condition.wait_until(lock, deadline);
  }
};

}  // namespace

ClockPtr systemClock() {
  static const ClockPtr kClock = std::make_shared<SteadyClock>();
  return kClock;
}

std::chrono::system_clock::time_point wallNow(const WallClock& clock) {
  return clock ? clock() : std::chrono::system_clock::now();
}

}  // namespace virtsnap
