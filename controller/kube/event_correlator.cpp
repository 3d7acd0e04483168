#include "controller/kube/event_correlator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <list>
#include <set>
#include <unordered_map>
#include <utility>

#include <openssl/sha.h>

#include "controller/kube/json_fields.h"
#include "controller/kube/token_bucket.h"
#include "crds/meta/time.h"

namespace virtsnap::kube {

namespace {

using WallTime = std::chrono::system_clock::time_point;

// What the caches key by: 128 bits of the SHA-256 of a key's parts, a fixed 16 bytes instead of the
// ~200-byte parts (docs/decisions.md).
struct KeyDigest {
  std::array<std::uint64_t, 2> words{};
  auto operator<=>(const KeyDigest&) const = default;
};

struct KeyDigestHash {
  std::size_t operator()(const KeyDigest& digest) const { return digest.words[0]; }
};

// The parts joined with a separator no Kubernetes name, kind or reason contains, so no two differ only
// in where one part ends (client-go joins with "", which lets "ab"+"c" meet "a"+"bc").
KeyDigest digestOf(std::initializer_list<const std::string*> parts) {
  std::string key;
  for (const std::string* part : parts) {
    key += *part;
    key += '\x1f';
  }
  KeyDigest digest;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> sha{};
  if (SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), sha.data()) != nullptr) {
    std::memcpy(digest.words.data(), sha.data(), sizeof digest.words);
  } else {  // OpenSSL could not digest (out of memory): two differently fed hashes, never one value for all
    digest.words[0] = std::hash<std::string>{}(key);
    digest.words[1] = std::hash<std::string>{}(key + '\x1e');
  }
  return digest;
}

// A map that keeps its `capacity` most recently used keys (groupcache's lru.Cache, as client-go uses).
template <typename Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The value under `key`, now the most recently used; null if absent.
  Value* find(const KeyDigest& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return nullptr;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return &it->second->second;
  }
  // The value under `key`, made by `make` if absent (evicting the least recently used key).
  template <typename Make>
  Value& at(const KeyDigest& key, Make make) {
    if (Value* found = find(key)) {
      return *found;
    }
    if (entries_.size() >= capacity_) {
      index_.erase(entries_.back().first);
      entries_.pop_back();
    }
    entries_.emplace_front(key, make());
    index_.emplace(key, entries_.begin());
    return entries_.front().second;
  }
  Value& at(const KeyDigest& key) {
    return at(key, [] { return Value(); });
  }

 private:
  using Entries = std::list<std::pair<KeyDigest, Value>>;
  std::size_t capacity_;
  Entries entries_;  // most recently used first
  std::unordered_map<KeyDigest, typename Entries::iterator, KeyDigestHash> index_;
};

// Identical events: the dedup key.
KeyDigest eventKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return digestOf({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.fieldPath, &o.uid,
                   &o.apiVersion, &e.type, &e.reason, &e.message});
}

// Similar events: the aggregation key (everything but the message).
KeyDigest aggregateKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return digestOf({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.uid, &o.apiVersion, &e.type,
                   &e.reason, &e.reportingComponent, &e.reportingInstance});
}

// One (source, object) pair: the spam filter's key.
KeyDigest spamKey(const Event& e) {
  const ObjectReference& o = e.involvedObject;
  return digestOf({&e.sourceComponent, &e.sourceHost, &o.kind, &o.ns, &o.name, &o.uid, &o.apiVersion});
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

// The distinct messages seen lately for one aggregation key (their digests).
struct SimilarEvents {
  std::set<KeyDigest> messages;
  std::optional<Clock::TimePoint> last;
};

struct EventCorrelator::State {
  explicit State(std::size_t size) : spam(size), similar(size), observed(size) {}
  LruCache<TokenCount> spam;
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
  // Digests before the lock (a combined Event has the same object and source: the same spam key).
  KeyDigest observationKey = eventKey(event);
  const KeyDigest similarKey = aggregateKey(event);
  const KeyDigest messageKey = digestOf({&event.message});
  const KeyDigest objectKey = spamKey(event);
  std::lock_guard lock(mutex_);

  // Aggregation: count the distinct messages of similar events; past the threshold, write the
  // combined Event instead, keyed by the aggregation key so its repeats bump its count.
  SimilarEvents& similar = state_->similar.at(similarKey);
  if (!similar.last || now - *similar.last > options_.similarWindow) {
    similar = SimilarEvents{};
  }
  similar.messages.insert(messageKey);
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
  const double burst = std::max(1, options_.spamBurst);
  TokenCount& bucket = state_->spam.at(objectKey, [&] { return TokenCount(burst, now); });
  result.skip = !bucket.tryTake(now, options_.spamQps, burst);
  result.event = std::move(event);
  return result;
}

void EventCorrelator::updateState(const Event& written) {
  const KeyDigest key = eventKey(written);
  std::lock_guard lock(mutex_);
  state_->observed.at(key) =
      Observation{written.count, written.firstTimestamp, written.name, written.resourceVersion};
}

}  // namespace virtsnap::kube
