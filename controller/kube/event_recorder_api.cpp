#include "controller/kube/event_recorder_api.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace virtsnap::kube {

ApiEventRecorder::ApiEventRecorder(ApiClientPtr client, ApiEventRecorderOptions options, ClockPtr clock,
                                   WallClock wallClock, RandomSourcePtr random)
    : client_(std::move(client)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      wallClock_(wallClock ? std::move(wallClock)
                           : WallClock([] { return std::chrono::system_clock::now(); })),
      random_(std::move(random)),
      correlator_(options_.correlator, clock_, wallClock_),
      sender_([this] { run(); }) {}

ApiEventRecorder::~ApiEventRecorder() {
  stop();
}

void ApiEventRecorder::event(const ObjectReference& object, EventType type, const std::string& reason,
                             const std::string& message) {
  Event event;
  // Events live in their object's namespace; those about cluster-scoped objects in "default".
  event.ns = object.ns.empty() ? "default" : object.ns;
  event.involvedObject = object;
  event.type = eventTypeName(type);
  event.reason = reason;
  event.message = message;
  event.sourceComponent = options_.component;
  event.sourceHost = options_.host;
  event.reportingComponent = options_.component;
  event.reportingInstance = options_.host;
  event.firstTimestamp = wallClock_();
  event.lastTimestamp = event.firstTimestamp;

  std::lock_guard lock(mutex_);
  ++stats_.recorded;
  if (stopping_ || queue_.size() >= options_.queueCapacity) {
    ++stats_.dropped;
    return;
  }
  queue_.push_back(std::move(event));
  wake_.notify_all();
}

void ApiEventRecorder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (sender_.joinable()) {
    sender_.join();
  }
}

bool ApiEventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !inFlight_; });
}

EventRecorderStats ApiEventRecorder::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ApiEventRecorder::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stopping, and nothing left
    }
    Event event = std::move(queue_.front());
    queue_.pop_front();
    if (serverGone_) {
      ++stats_.dropped;
    } else {
      inFlight_ = true;
      lock.unlock();
      deliver(std::move(event));
      lock.lock();
      inFlight_ = false;
    }
    if (queue_.empty()) {
      idle_.notify_all();
    }
  }
}

void ApiEventRecorder::deliver(Event event) {
  const CorrelatedEvent correlated = correlator_.correlate(std::move(event));
  if (correlated.skip) {
    std::lock_guard lock(mutex_);
    ++stats_.filtered;
    return;
  }
  for (int attempt = 1;; ++attempt) {
    if (write(correlated) != Outcome::Retry) {
      return;  // write() counted it
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        // One attempt each at shutdown; a server that fails this one would fail the rest too.
        serverGone_ = true;
        ++stats_.abandoned;
        return;
      }
      if (attempt >= options_.maxAttempts) {
        ++stats_.abandoned;
        return;
      }
    }
    const bool stillRunning = waitToRetry(retryDelay(attempt));
    std::lock_guard lock(mutex_);
    if (!stillRunning) {
      serverGone_ = true;
      ++stats_.abandoned;
      return;
    }
    ++stats_.retries;
  }
}

std::chrono::nanoseconds ApiEventRecorder::retryDelay(int failedAttempts) const {
  const std::chrono::nanoseconds backoff = options_.retryBackoff;
  if (failedAttempts <= 1) {
    // A random part of the first wait, as client-go does, so agents do not all come back at once.
    const double share = random_ ? random_->uniform() : 1.0;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(backoff * share);
  }
  return backoff * (1LL << std::min(failedAttempts - 2, 20));
}

ApiEventRecorder::Outcome ApiEventRecorder::write(const CorrelatedEvent& correlated) {
  const bool bump = correlated.event.count > 1;
  std::optional<KubeResult<nlohmann::json>> answer;
  if (bump) {
    answer = client_->patch(meta::resources::events(), correlated.event.ns, correlated.event.name,
                            PatchType::Merge, correlated.patch, PatchOptions{});
  }
  // The Event to bump may be gone (events expire on the server): write it anew, count and all.
  const bool create = !bump || (!answer->has_value() && answer->error().kind == ErrorKind::NotFound);
  if (create) {
    Event fresh = correlated.event;
    fresh.resourceVersion.clear();
    answer = client_->create(meta::resources::events(), fresh.toJson(), WriteOptions{});
  }
  if (answer->has_value()) {
    if (std::optional<Event> written = Event::fromJson(answer->value())) {
      correlator_.updateState(*written);
    }
    std::lock_guard lock(mutex_);
    ++(create ? stats_.created : stats_.patched);
    return Outcome::Written;
  }
  if (answer->error().retryable()) {
    return Outcome::Retry;
  }
  std::lock_guard lock(mutex_);
  ++stats_.rejected;
  return Outcome::Refused;
}

bool ApiEventRecorder::waitToRetry(std::chrono::nanoseconds delay) {
  const Clock::TimePoint deadline = clock_->now() + delay;
  std::unique_lock lock(mutex_);
  while (!stopping_ && clock_->now() < deadline) {
    clock_->waitUntil(lock, wake_, deadline);
  }
  return !stopping_;
}

}  // namespace virtsnap::kube
