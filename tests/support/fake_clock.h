#pragma once
// A Clock for tests: time moves only when the test (or a sleep) moves it, so waits cost nothing and
// every sleep is recorded. Threads blocked in waitUntil wake when advance() reaches their deadline.

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "base/clock.h"

namespace virtsnap::testsupport {

class FakeClock final : public Clock {
 public:
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  // A sleep returns at once, with the clock moved to the deadline.
  void sleepUntil(TimePoint deadline) override {
    std::vector<Waiter> toWake;
    {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(deadline - now_);
      if (deadline > now_) {
        now_ = deadline;
      }
      toWake = waiters_;
      ++wakesInProgress_;
    }
    wake(toWake);
  }
  // Registers the waiter before looking at the time, so an advance() between the caller's check and its
  // wait cannot be missed: advance() takes the waiter's mutex before notifying it.
  void waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& condition,
                 TimePoint deadline) override {
    Waiter self{lock.mutex(), &condition};
    {
      std::lock_guard guard(mutex_);
      if (now_ >= deadline) {
        return;
      }
      waiters_.push_back(self);
      ++waiting_;
    }
    condition.wait(lock);
    // Leave with the caller's mutex released, and only once no advance() is still notifying through a
    // copy of the waiter list (the mutex and condition may be gone as soon as we return).
    lock.unlock();
    {
      std::unique_lock guard(mutex_);
      --waiting_;
      auto found = std::find(waiters_.begin(), waiters_.end(), self);
      if (found != waiters_.end()) {
        waiters_.erase(found);
      }
      wakesDone_.wait(guard, [this] { return wakesInProgress_ == 0; });
    }
    lock.lock();
  }
  void advance(std::chrono::nanoseconds by) {
    std::vector<Waiter> toWake;
    {
      std::lock_guard lock(mutex_);
      now_ += by;
      toWake = waiters_;
      ++wakesInProgress_;
    }
    wake(toWake);
  }
  // How many threads are blocked in waitUntil now (tests wait for a worker to park before advancing).
  int waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  std::vector<std::chrono::nanoseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* condition;
    friend bool operator==(const Waiter&, const Waiter&) = default;
  };
  // Called with a copy of waiters_ taken in the same critical section that moved the time.
  void wake(const std::vector<Waiter>& waiters) {
    for (const Waiter& waiter : waiters) {
      std::lock_guard lock(*waiter.mutex);
      waiter.condition->notify_all();
    }
    std::lock_guard lock(mutex_);
    --wakesInProgress_;
    wakesDone_.notify_all();
  }

  mutable std::mutex mutex_;  // guards everything below
  TimePoint now_{std::chrono::hours(1)};
  std::vector<std::chrono::nanoseconds> sleeps_;
  std::vector<Waiter> waiters_;
  int waiting_ = 0;
  int wakesInProgress_ = 0;
  std::condition_variable wakesDone_;
};

}  // namespace virtsnap::testsupport
