#pragma once
// Waiting for another thread to get somewhere, in tests whose time otherwise runs on a FakeClock. The
// real-time bounds here only turn a hang into a failure; nothing asserts on how long anything took.

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

namespace virtsnap::testsupport {

// Polls `condition` every `interval` until it holds or `limit` (real time) passes: for waiting on
// another thread's or process's progress, never for measuring time. A condition that costs API calls
// or processes polls less often.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(60),
                       std::chrono::microseconds interval = std::chrono::microseconds(200)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
  return true;
}

// Runs `action` on a thread of its own and tells whether it returned within `limit`. An action that
// does not return is left running (its thread detached), so a deadlock fails the test at once instead
// of hanging the binary until ctest's timeout: `action` must own, or share, everything it touches.
inline bool finishesWithin(std::function<void()> action,
                           std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread([action = std::move(action), done] {
    action();
    done->set_value();
  }).detach();
  return finished.wait_for(limit) == std::future_status::ready;
}

}  // namespace virtsnap::testsupport
