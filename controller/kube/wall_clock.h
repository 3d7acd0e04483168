#pragma once
// The wall clock that API timestamps (RFC 3339 / MicroTime) come from, injected so tests fix it;
// null means std::chrono::system_clock. Durations and timeouts use drivers::Clock instead.

#include <chrono>
#include <functional>

namespace virtsnap::kube {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

}  // namespace virtsnap::kube
