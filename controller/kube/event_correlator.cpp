#include "controller/kube/event_correlator.h"

#include <cstdio>
#include <list>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "controller/kube/json_fields.h"
#include "controller/kube/token_bucket.h"
#include "crds/meta/time.h"

namespace virtsnap::kube {

namespace {

using WallTime = std::chrono::system_clock::time_point;

// A map that keeps its `capacity` most recently used keys (groupcache's lru.Cache, as client-go uses).
template <typename Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  LruCache(const LruCache&) = delete;  // the index views the entries' keys: a copy would view the original's
  LruCache& operator=(const LruCache&) = delete;

  // The value under `key`, now the most recently used; null if absent.
  Value* find(const std::string& key) {
    auto it = index_.find(std::string_view(key));
    if (it == index_.end()) {
      return nullptr;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->second;
  }
  // The value under `key`, default-made if absent (evicting the least recently used key).
  Value& at(const std::string& key) {
    if (Value* found = find(key)) {
      return *found;
    }
    if (entries_.size() >= capacity_) {
      index_.erase(std::string_view(entries_.back().first));
      entries_.pop_back();
    }
    entries_.emplace_front(key, Value());
    index_.emplace(std::string_view(entries_.front().first), entries_.begin());
    return entries_.front().second;
  }

 private:
  using Entries = std::list<std::pair<std::string, Value>>;
  std::size_t capacity_;
  Entries entries_;  // most recently used first
  // Keyed by views of the entries' own keys (a list node never moves): each key is held once. The
  // keys carry whole messages, and three caches of 4,096 of them were ~1.5 KB per object held.
  std::unordered_map<std::string_view, typename Entries::iterator> index_;
};

// Keys joined with a separator no Kubernetes name, kind or reason contains, so no two differ only
// in where one field ends (client-go joins with "", which lets "ab"+"c" meet "a"+"bc").
std::string joinKey(std::initializer_list<const std::string*> parts) {
  std::string key;
  for (const std::string* part : parts) {
    key += *part;
    key += '\x1f';
  }
  return key;
}

// Identical events: the dedup key.
std::string eventKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return joinKey({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.fieldPath, &o.uid,
                  &o.apiVersion, &e.type, &e.reason, &e.message});
}

// Similar events: the aggregation key (everything but the message).
std::string aggregateKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return joinKey({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.uid, &o.apiVersion, &e.type,
                  &e.reason, &e.reportingComponent, &e.reportingInstance});
}

// One (source, object) pair: the spam filter's key.
std::string spamKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return joinKey({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.uid, &o.apiVersion});
}

WallTime timestamp(const nlohmann::json& object, const char* key) {
  return meta::parseTime(stringField(object, key)).value_or(WallTime());
}

constexpr const char* kCombinedPrefix = "(combined from similar events): ";

}  // namespace

nlohmann::json Event::toJson() const {
  nlohmann::json metadata{{"name", name}, {"namespace", ns}};
  if (!resourceVersion.empty()) {
    metadata["resourceVersion"] = resourceVersion;
  }
  return nlohmann::json{{"apiVersion", "v1"},
                        {"kind", "Event"},
                        {"metadata", std::move(metadata)},
                        {"involvedObject", involvedObject.toJson()},
                        {"type", type},
                        {"reason", reason},
                        {"message", message},
                        {"source", {{"component", sourceComponent}, {"host", sourceHost}}},
                        {"reportingComponent", reportingComponent},
                        {"reportingInstance", reportingInstance},
                        {"firstTimestamp", meta::formatTime(firstTimestamp)},
                        {"lastTimestamp", meta::formatTime(lastTimestamp)},
                        {"count", count}};
}

std::optional<Event> Event::fromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("metadata") || stringField(json["metadata"], "name").empty()) {
    return std::nullopt;
  }
  const nlohmann::json& metadata = json["metadata"];
  Event event;
  event.name = stringField(metadata, "name");
  event.ns = stringField(metadata, "namespace");
  event.resourceVersion = stringField(metadata, "resourceVersion");
  event.involvedObject = ObjectReference::fromJson(json.value("involvedObject", nlohmann::json::object()));
  event.type = stringField(json, "type");
  event.reason = stringField(json, "reason");
  event.message = stringField(json, "message");
  const nlohmann::json source = json.value("source", nlohmann::json::object());
  event.sourceComponent = stringField(source, "component");
  event.sourceHost = stringField(source, "host");
  event.reportingComponent = stringField(json, "reportingComponent");
  event.reportingInstance = stringField(json, "reportingInstance");
  event.firstTimestamp = timestamp(json, "firstTimestamp");
  event.lastTimestamp = timestamp(json, "lastTimestamp");
  auto count = json.find("count");
  event.count = count != json.end() && count->is_number_integer() ? count->get<std::int32_t>() : 1;
  return event;
}

// An Event already written (or about to be): what a repeat needs to patch it.
struct Observation {
  std::int32_t count = 0;
  WallTime firstTimestamp;
  std::string name;
  std::string resourceVersion;
};

// The distinct messages seen lately for one aggregation key.
struct SimilarEvents {
  std::set<std::string> messages;
  std::optional<Clock::TimePoint> last;
};

struct EventCorrelator::State {
  explicit State(std::size_t size) : spam(size), similar(size), observed(size) {}
  LruCache<std::unique_ptr<TokenBucket>> spam;
  LruCache<SimilarEvents> similar;
  LruCache<Observation> observed;
  std::int64_t lastNameNanos = 0;  // names stay unique when the wall clock stands still
};

EventCorrelator::EventCorrelator(EventCorrelatorOptions options, ClockPtr clock, WallClock wallClock)
    : options_(options),
      clock_(std::move(clock)),
      wallClock_(wallClock ? std::move(wallClock)
                           : WallClock([] { return std::chrono::system_clock::now(); })),
      state_(std::make_unique<State>(options_.cacheSize)) {}

EventCorrelator::~EventCorrelator() = default;

std::string EventCorrelator::uniqueName(const std::string& objectName, WallTime time) {
  std::int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  if (nanos <= state_->lastNameNanos) {
    nanos = state_->lastNameNanos + 1;
  }
  state_->lastNameNanos = nanos;
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(nanos));
  return objectName + "." + hex;
}

CorrelatedEvent EventCorrelator::correlate(Event event) {
  const Clock::TimePoint now = clock_->now();
  std::lock_guard lock(mutex_);

  // Aggregation: count the distinct messages of similar events; past the threshold, write the
  // combined Event instead, keyed by the aggregation key so its repeats bump its count.
  std::string observationKey = eventKey(event);
  const std::string similarKey = aggregateKey(event);
  SimilarEvents& similar = state_->similar.at(similarKey);
  if (!similar.last || now - *similar.last > options_.similarWindow) {
    similar = SimilarEvents{};
  }
  similar.messages.insert(event.message);
  similar.last = now;
  if (similar.messages.size() >= options_.maxSimilar) {
    similar.messages.erase(similar.messages.begin());  // stay at the threshold, as client-go does
    const WallTime wallNow = wallClock_();
    Event combined;
    combined.ns = event.ns;
    combined.involvedObject = event.involvedObject;
    combined.type = event.type;
    combined.reason = event.reason;
    combined.message = kCombinedPrefix + event.message;
    combined.sourceComponent = event.sourceComponent;
    combined.sourceHost = event.sourceHost;
    combined.reportingComponent = event.reportingComponent;
    combined.reportingInstance = event.reportingInstance;
    combined.firstTimestamp = wallNow;
    combined.lastTimestamp = wallNow;
    event = std::move(combined);
    observationKey = similarKey;
  }

  // Dedup: a repeat of an Event already written becomes a patch of it.
  CorrelatedEvent result;
  Observation& seen = state_->observed.at(observationKey);
  if (seen.count > 0) {
    event.name = seen.name;
    event.resourceVersion = seen.resourceVersion;
    event.firstTimestamp = seen.firstTimestamp;
    event.count = seen.count + 1;
    result.patch = nlohmann::json{{"count", event.count},
                                  {"lastTimestamp", meta::formatTime(event.lastTimestamp)},
                                  {"message", event.message}}
                       .dump();
  } else {
    event.count = 1;
    if (event.name.empty()) {
      event.name = uniqueName(event.involvedObject.name, event.lastTimestamp);
    }
  }
  seen = Observation{event.count, event.firstTimestamp, event.name, event.resourceVersion};

  // Spam filter, last, as in client-go: a skipped event has still been counted above.
  std::unique_ptr<TokenBucket>& bucket = state_->spam.at(spamKey(event));
  if (!bucket) {
    bucket = std::make_unique<TokenBucket>(options_.spamQps, options_.spamBurst, clock_);
  }
  result.skip = !bucket->tryTake();
  result.event = std::move(event);
  return result;
}

void EventCorrelator::updateState(const Event& written) {
  std::lock_guard lock(mutex_);
  state_->observed.at(eventKey(written)) =
      Observation{written.count, written.firstTimestamp, written.name, written.resourceVersion};
}

}  // namespace virtsnap::kube
