#include "controller/apiserver/storage/watch_hub.h"

#include <algorithm>
#include <condition_variable>

#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

using Clock = std::chrono::steady_clock;

// One watch's queue; publish() pushes, next() pops.
struct WatchHub::State {
  explicit State(WatchFilter f) : filter(std::move(f)) {}

  const WatchFilter filter;
  std::mutex mutex;  // guards everything below
  std::condition_variable wake;
  std::deque<StoreEventPtr> queue;
  std::uint64_t knownVersion = 0;  // every change up to here is in the queue or was delivered
  bool ended = false;
  Clock::time_point lastSent = Clock::now();
};

struct WatchHub::Core {
  WatchHubOptions options;
  mutable std::mutex mutex;  // guards history, historyStart and states
  std::deque<StoreEventPtr> history;
  std::uint64_t historyStart = 0;  // resuming from a version below this is 410
  std::vector<std::shared_ptr<State>> states;

  void remove(const std::shared_ptr<State>& state) {
    std::lock_guard lock(mutex);
    states.erase(std::remove(states.begin(), states.end(), state), states.end());
  }
};

namespace {

nlohmann::json withVersion(nlohmann::json object, std::uint64_t version) {
  object["metadata"]["resourceVersion"] = std::to_string(version);
  return object;
}

// The event a watcher sees for a change, after its selectors; nullopt when it sees nothing.
std::optional<WatchEvent> present(const WatchFilter& filter, const StoreEvent& event) {
  bool now = filter.selector.matches(event.object);
  if (event.type == meta::WatchEventType::Modified && !event.previous.is_null()) {
    bool before = filter.selector.matches(event.previous);
    if (before && now) {
      return WatchEvent{meta::WatchEventType::Modified, event.object};
    }
    if (now) {
      return WatchEvent{meta::WatchEventType::Added, event.object};
    }
    if (before) {
      return WatchEvent{meta::WatchEventType::Deleted, withVersion(event.previous, event.resourceVersion)};
    }
    return std::nullopt;
  }
  if (!now) {
    return std::nullopt;
  }
  return WatchEvent{event.type, event.object};
}

class HubWatch : public Watch {
 public:
  HubWatch(std::shared_ptr<WatchHub::State> state, std::weak_ptr<WatchHub::Core> core)
      : state_(std::move(state)), core_(std::move(core)) {}
  ~HubWatch() override { stop(); }

  std::optional<WatchEvent> next(std::chrono::milliseconds timeout) override {
    const auto deadline = Clock::now() + timeout;
    const auto interval = bookmarkInterval();
    std::unique_lock lock(state_->mutex);
    while (true) {
      if (state_->ended) {
        return std::nullopt;
      }
      if (!state_->queue.empty()) {
        StoreEventPtr event = std::move(state_->queue.front());
        state_->queue.pop_front();
        lock.unlock();  // filtering and copying happen outside every lock
        std::optional<WatchEvent> shown = present(state_->filter, *event);
        lock.lock();
        if (shown) {
          state_->lastSent = Clock::now();
          return shown;
        }
        continue;
      }
      auto now = Clock::now();
      if (state_->filter.bookmarks && now >= state_->lastSent + interval) {
        state_->lastSent = now;
        nlohmann::json object{{"apiVersion", state_->filter.apiVersion},
                              {"kind", state_->filter.kind},
                              {"metadata", {{"resourceVersion", std::to_string(state_->knownVersion)}}}};
        return WatchEvent{meta::WatchEventType::Bookmark, std::move(object)};
      }
      if (now >= deadline) {
        return std::nullopt;
      }
      auto until = deadline;
      if (state_->filter.bookmarks) {
        until = std::min(until, state_->lastSent + interval);
      }
      state_->wake.wait_until(lock, until);
    }
  }

  void stop() override {
    {
      std::lock_guard lock(state_->mutex);
      state_->ended = true;
      state_->queue.clear();
    }
    state_->wake.notify_all();
    if (auto core = core_.lock()) {
      core->remove(state_);
    }
  }

  bool ended() const override {
    std::lock_guard lock(state_->mutex);
    return state_->ended;
  }

 private:
  std::chrono::milliseconds bookmarkInterval() const {
    auto core = core_.lock();
    return core ? core->options.bookmarkInterval : std::chrono::milliseconds(5000);
  }

  std::shared_ptr<WatchHub::State> state_;
  std::weak_ptr<WatchHub::Core> core_;
};

}  // namespace

WatchHub::WatchHub(WatchHubOptions options, std::uint64_t startResourceVersion)
    : core_(std::make_shared<Core>()) {
  core_->options = options;
  core_->historyStart = startResourceVersion;
}

WatchHub::~WatchHub() {
  std::vector<std::shared_ptr<State>> states;
  {
    std::lock_guard lock(core_->mutex);
    states.swap(core_->states);
  }
  for (const auto& state : states) {
    {
      std::lock_guard lock(state->mutex);
      state->ended = true;
    }
    state->wake.notify_all();
  }
}

void WatchHub::publish(StoreEventPtr event) {
  std::lock_guard lock(core_->mutex);
  core_->history.push_back(event);
  while (core_->history.size() > core_->options.historySize) {
    core_->historyStart = core_->history.front()->resourceVersion;
    core_->history.pop_front();
  }
  for (const auto& state : core_->states) {
    bool wanted = state->filter.resource == event->resource &&
                  (state->filter.ns.empty() || state->filter.ns == event->ns);
    {
      std::lock_guard stateLock(state->mutex);
      if (state->ended) {
        continue;
      }
      state->knownVersion = event->resourceVersion;
      if (!wanted) {
        continue;
      }
      if (state->queue.size() >= core_->options.maxQueue) {
        state->ended = true;  // too far behind: end it rather than grow without bound
        state->queue.clear();
      } else {
        state->queue.push_back(event);
      }
    }
    state->wake.notify_all();
  }
}

ApiResult<std::shared_ptr<Watch>> WatchHub::subscribe(WatchFilter filter, std::vector<StoreEventPtr> initial,
                                                      std::optional<std::uint64_t> resumeAfter,
                                                      std::uint64_t current) {
  auto state = std::make_shared<State>(std::move(filter));
  std::lock_guard lock(core_->mutex);
  if (resumeAfter && *resumeAfter < core_->historyStart) {
    return expiredError("too old resource version: " + std::to_string(*resumeAfter) + " (" +
                        std::to_string(core_->historyStart) + ")");
  }
  state->knownVersion = current;
  for (auto& event : initial) {
    state->queue.push_back(std::move(event));
  }
  if (resumeAfter) {
    for (const auto& event : core_->history) {
      if (event->resourceVersion > *resumeAfter && event->resource == state->filter.resource &&
          (state->filter.ns.empty() || state->filter.ns == event->ns)) {
        state->queue.push_back(event);
      }
    }
  }
  core_->states.push_back(state);
  return std::shared_ptr<Watch>(std::make_shared<HubWatch>(state, core_));
}

std::size_t WatchHub::watchCount() const {
  std::lock_guard lock(core_->mutex);
  return core_->states.size();
}

std::uint64_t WatchHub::historyStart() const {
  std::lock_guard lock(core_->mutex);
  return core_->historyStart;
}

}  // namespace virtsnap::apiserver
