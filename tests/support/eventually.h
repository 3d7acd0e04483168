#pragma once
// Waiting for another thread to get somewhere, in tests whose time otherwise runs on a FakeClock.

#include <chrono>
#include <functional>
#include <thread>

namespace virtsnap::testing {

// Polls `condition` until it holds or `limit` (real time) passes: for waiting on another thread's
// progress, never for measuring time.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace virtsnap::testing
