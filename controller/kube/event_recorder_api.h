#pragma once
// The EventRecorder that writes core/v1 Events through an ApiClient (client-go's broadcaster plus
// recordToSink, in one class).
//
// Guarantees:
//  - event() never waits for the API server: it puts the event on a bounded queue and returns; when
//    the queue is full (or the recorder stopped) the event is dropped and counted.
//  - One sender thread takes events in order, passes each through an EventCorrelator (dedup into
//    count bumps, aggregation of similar events, the per-object spam filter) and writes it: a create,
//    or a merge patch of the existing Event (a create again if that Event is gone).
//  - A retryable failure (network, timeout, 429, 5xx) is tried again, at most `maxAttempts` times
//    in all, after a random part of `retryBackoff` and then after `retryBackoff` doubled each time,
//    on the injected clock; then the event is dropped and counted. Any other refusal (invalid,
//    forbidden, already exists) drops it at once. Nothing loops without waiting, nothing throws.
//  - stop() (and the destructor) ends the waits, writes what is queued with one attempt each, drops
//    the rest once a write has failed at or just before the stop, and joins the sender.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/random_source.h"
#include "controller/kube/api_client.h"
#include "controller/kube/event_correlator.h"
#include "controller/kube/event_recorder.h"

namespace virtsnap::kube {

struct ApiEventRecorderOptions {
  std::string component = "virtsnap-agent";  // source.component and reportingComponent
  std::string host;                          // source.host and reportingInstance: the node
  std::size_t queueCapacity = 1000;          // client-go's maxQueuedEvents
  int maxAttempts = 4;
  std::chrono::milliseconds retryBackoff{1000};
  EventCorrelatorOptions correlator;
};

// What became of the events recorded so far. Once flushed, recorded = dropped + filtered + created +
// patched + rejected + abandoned.
struct EventRecorderStats {
  std::uint64_t recorded = 0;  // taken by event()
  std::uint64_t dropped = 0;   // the queue was full, the recorder had stopped, or the server was gone at stop
  std::uint64_t filtered = 0;  // skipped by the spam filter
  std::uint64_t created = 0;   // written as a new Event
  std::uint64_t patched = 0;   // written as a count bump of an existing Event
  std::uint64_t rejected = 0;  // refused by the server for good
  std::uint64_t abandoned = 0;  // still failing after maxAttempts (or when stop() came)
  std::uint64_t retries = 0;    // attempts after the first, over all events
};

class ApiEventRecorder final : public EventRecorder {
 public:
  // Starts the sender thread. `wallClock` stamps firstTimestamp and lastTimestamp; `random` spreads
  // the first retry.
  ApiEventRecorder(ApiClientPtr client, ApiEventRecorderOptions options, ClockPtr clock, WallClock wallClock,
                   RandomSourcePtr random);
  ~ApiEventRecorder() override;
  ApiEventRecorder(const ApiEventRecorder&) = delete;
  ApiEventRecorder& operator=(const ApiEventRecorder&) = delete;

  using EventRecorder::event;
  void event(const ObjectReference& object, EventType type, const std::string& reason,
             const std::string& message) override;

  // Idempotent. After it, event() only counts drops.
  void stop();
  // Blocks (in real time, at most `timeout`) until every event recorded so far has been written,
  // skipped or dropped; false on timeout. For tests and orderly shutdowns.
  bool flush(std::chrono::milliseconds timeout);
  EventRecorderStats stats() const;

 private:
  enum class Outcome { Written, Refused, Retry };

  void run();
  void deliver(Event event);
  Outcome write(const CorrelatedEvent& correlated);
  // The wait after the n-th failed attempt.
  std::chrono::nanoseconds retryDelay(int failedAttempts) const;
  // Waits `delay` on the clock; false if stop() came first.
  bool waitToRetry(std::chrono::nanoseconds delay);

  const ApiClientPtr client_;
  const ApiEventRecorderOptions options_;
  const ClockPtr clock_;
  const WallClock wallClock_;
  const RandomSourcePtr random_;
  EventCorrelator correlator_;  // thread-safe; used by the sender thread only

  mutable std::mutex mutex_;      // guards everything below
  std::condition_variable wake_;  // queue_ grew or stopping_ turned true
  std::condition_variable idle_;  // queue_ is empty and nothing is in flight
  std::deque<Event> queue_;
  bool inFlight_ = false;
  bool stopping_ = false;
  bool serverGone_ = false;  // during stop: a last attempt failed, so the rest is dropped unsent
  EventRecorderStats stats_;
  std::thread sender_;  // started last, in the constructor
};

}  // namespace virtsnap::kube
