#pragma once
// What happens to an event between EventRecorder::event() and the API server, decided the way
// client-go's EventCorrelator does (tools/record/events_cache.go), so that `kubectl get events` shows
// virtsnap's events the way it shows kube's own:
//  - dedup: an event identical to one already written (same source, object, type, reason and
//    message) becomes a merge patch of that Event's count, lastTimestamp and message, not a new Event;
//  - aggregation: when `maxSimilar` distinct messages arrive for one (source, object, type, reason)
//    with no gap longer than `similarWindow`, the similar events from then on go to a single Event
//    "(combined from similar events): <latest message>", whose count goes up with each;
//  - spam filter: every (source, object) pair has a token bucket (25 at once, one more every 5
//    minutes) on the injected clock; an event that finds no token is skipped. A count bump takes a
//    token too, and a skipped repeat still counts, so the next Event written shows the true count.
// Each of the three caches keeps its `cacheSize` most recently used keys (as digests). Thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "controller/kube/event_recorder.h"

namespace virtsnap::kube {

// A core/v1 Event, with the fields a recorder writes.
struct Event {
  std::string name;  // empty until the correlator names it
  std::string ns;
  std::string resourceVersion;
  ObjectReference involvedObject;
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
  std::string sourceComponent;  // source.component
  std::string sourceHost;       // source.host: the node
  std::string reportingComponent;
  std::string reportingInstance;
  std::chrono::system_clock::time_point firstTimestamp;
  std::chrono::system_clock::time_point lastTimestamp;
  std::int32_t count = 1;

  nlohmann::json toJson() const;
  // nullopt when `json` is not an Event with a name.
  static std::optional<Event> fromJson(const nlohmann::json& json);
};

struct EventCorrelatorOptions {
  std::size_t cacheSize = 4096;
  int spamBurst = 25;
  double spamQps = 1.0 / 300.0;
  std::size_t maxSimilar = 10;
  std::chrono::seconds similarWindow{600};
};

// What to do with one event.
struct CorrelatedEvent {
  bool skip = false;  // the spam filter said no: write nothing
  Event event;        // count 1: create it; count > 1: patch the Event named event.name
  std::string patch;  // count > 1: the merge patch {count, lastTimestamp, message}
};

class EventCorrelator {
 public:
  EventCorrelator(EventCorrelatorOptions options, ClockPtr clock, WallClock wallClock);
  ~EventCorrelator();
  EventCorrelator(const EventCorrelator&) = delete;
  EventCorrelator& operator=(const EventCorrelator&) = delete;

  // Decides the fate of `event` and remembers it. An event to create gets a name
  // "<object name>.<hex nanoseconds>" that no earlier call of this correlator gave.
  CorrelatedEvent correlate(Event event);
  // Takes in the server's copy of an Event just written (its name, resourceVersion, count and
  // firstTimestamp), so that the next repeat patches that Event.
  void updateState(const Event& written);

 private:
  struct State;
  std::string uniqueName(const std::string& objectName,
                         std::chrono::system_clock::time_point time);  // needs mutex_

  const EventCorrelatorOptions options_;
  const ClockPtr clock_;
  const WallClock wallClock_;
  std::mutex mutex_;  // guards state_
  std::unique_ptr<State> state_;
};

}  // namespace virtsnap::kube
