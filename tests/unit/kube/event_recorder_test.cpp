// The event recorder against the real embedded API server (ApiHandler + ObjectStore through the
// in-process transport) on a fake clock: dedup into count bumps, aggregation of similar events, the
// spam filter, retries and drops. The correlator's own rules are also tested alone, without a server.

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "controller/kube/event_correlator.h"
#include "controller/kube/event_recorder_api.h"
#include "controller/kube/rest_client.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using nlohmann::json;
using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;
using testsupport::eventually;
using namespace std::chrono_literals;

constexpr const char* kEventsPath = "/api/v1/namespaces/vms/events";

// A wall clock that stands still until a test moves it: 2024-05-01T12:00:00Z to begin with.
class FakeWallClock {
 public:
  WallClock function() {
    return [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(seconds_.load())); };
  }
  void advance(std::chrono::seconds by) { seconds_ += by.count(); }

 private:
  std::atomic<std::int64_t> seconds_{1714564800};
};

ObjectReference domainRef(const std::string& name) {
  return ObjectReference::of(
      json{{"apiVersion", "virtsnap.io/v1alpha1"},
           {"kind", "Domain"},
           {"metadata",
            {{"name", name}, {"namespace", "vms"}, {"uid", "uid-" + name}, {"resourceVersion", "42"}}}});
}

class EventRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-events";
    options.client.qps = 0;  // no limiter: nothing may move the fake clock but the test
    options.namespaces = {"vms"};
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    client_ = api_->client();
  }

  void TearDown() override {
    recorder_.reset();  // joins the sender before the server goes
    client_.reset();
    api_.reset();
  }

  ApiEventRecorder& makeRecorder(std::size_t queueCapacity = 1000) {
    ApiEventRecorderOptions options;
    options.component = "virtsnap-agent";
    options.host = "node-1";
    options.queueCapacity = queueCapacity;
    options.maxAttempts = 4;
    options.retryBackoff = 1s;
    recorder_ =
        std::make_unique<ApiEventRecorder>(client_, options, clock_, wall_.function(), seededRandom(7));
    return *recorder_;
  }

  void flush() { ASSERT_TRUE(recorder_->flush(10s)) << "the sender did not finish"; }

  std::vector<json> events() {
    auto listed = client_->list(meta::resources::events(), "vms", ListOptions{});
    EXPECT_TRUE(listed.has_value()) << listed.error().describe();
    std::vector<json> items;
    if (listed.has_value()) {
      for (const json& item : listed.value()["items"]) {
        items.push_back(item);
      }
    }
    return items;
  }

  json onlyEvent() {
    std::vector<json> all = events();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? json::object() : all.front();
  }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::shared_ptr<RestClient> client_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  FakeWallClock wall_;
  std::unique_ptr<ApiEventRecorder> recorder_;
};

TEST_F(EventRecorderTest, AnEventCarriesItsObjectSourceAndTimestamps) {
  ApiEventRecorder& recorder = makeRecorder();
  recorder.event(domainRef("vm-1"), EventType::Warning, "SnapshotFailed", "disk vda is busy");
  flush();

  json event = onlyEvent();
  EXPECT_EQ(event["involvedObject"], (json{{"apiVersion", "virtsnap.io/v1alpha1"},
                                           {"kind", "Domain"},
                                           {"namespace", "vms"},
                                           {"name", "vm-1"},
                                           {"uid", "uid-vm-1"},
                                           {"resourceVersion", "42"}}));
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["reason"], "SnapshotFailed");
  EXPECT_EQ(event["message"], "disk vda is busy");
  EXPECT_EQ(event["source"], (json{{"component", "virtsnap-agent"}, {"host", "node-1"}}));
  EXPECT_EQ(event["reportingComponent"], "virtsnap-agent");
  EXPECT_EQ(event["reportingInstance"], "node-1");
  EXPECT_EQ(event["firstTimestamp"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(event["lastTimestamp"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(event["count"], 1);
  EXPECT_EQ(event["metadata"]["namespace"], "vms");
  EXPECT_TRUE(
      std::regex_match(event["metadata"]["name"].get<std::string>(), std::regex(R"(vm-1\.[0-9a-f]+)")))
      << event["metadata"]["name"];
  EXPECT_EQ(recorder.stats().created, 1u);
}

TEST_F(EventRecorderTest, ARepeatIsACountBumpOfTheSameEvent) {
  ApiEventRecorder& recorder = makeRecorder();
  recorder.event(domainRef("vm-1"), EventType::Normal, "SnapshotCreated", "snapshot s1 created");
  flush();
  const std::string name = onlyEvent()["metadata"]["name"];

  wall_.advance(30s);
  recorder.event(domainRef("vm-1"), EventType::Normal, "SnapshotCreated", "snapshot s1 created");
  wall_.advance(30s);
  recorder.event(domainRef("vm-1"), EventType::Normal, "SnapshotCreated", "snapshot s1 created");
  flush();

  json event = onlyEvent();
  EXPECT_EQ(event["metadata"]["name"], name);
  EXPECT_EQ(event["count"], 3);
  EXPECT_EQ(event["firstTimestamp"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(event["lastTimestamp"], "2024-05-01T12:01:00Z");
  EventRecorderStats stats = recorder.stats();
  EXPECT_EQ(stats.created, 1u);
  EXPECT_EQ(stats.patched, 2u);
}

TEST_F(EventRecorderTest, ARepeatOfAnEventGoneFromTheServerIsWrittenAnew) {
  ApiEventRecorder& recorder = makeRecorder();
  recorder.event(domainRef("vm-1"), EventType::Normal, "Reverted", "reverted to s1");
  flush();
  const std::string name = onlyEvent()["metadata"]["name"];
  ASSERT_TRUE(client_->remove(meta::resources::events(), "vms", name, DeleteOptions{}).has_value());

  recorder.event(domainRef("vm-1"), EventType::Normal, "Reverted", "reverted to s1");
  flush();

  json event = onlyEvent();
  EXPECT_EQ(event["metadata"]["name"], name);
  EXPECT_EQ(event["count"], 2);
  EXPECT_EQ(recorder.stats().created, 2u);
}

TEST_F(EventRecorderTest, DifferentObjectsOrReasonsAreSeparateEvents) {
  ApiEventRecorder& recorder = makeRecorder();
  recorder.event(domainRef("vm-1"), EventType::Normal, "SnapshotCreated", "done");
  recorder.event(domainRef("vm-2"), EventType::Normal, "SnapshotCreated", "done");
  recorder.event(domainRef("vm-1"), EventType::Normal, "SnapshotDeleted", "done");
  recorder.event(domainRef("vm-1"), EventType::Warning, "SnapshotCreated", "done");
  flush();
  std::set<std::string> names;
  for (const json& event : events()) {
    names.insert(event["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(names.size(), 4u);
}

TEST_F(EventRecorderTest, ElevenSimilarEventsEndInOneCombinedEvent) {
  ApiEventRecorder& recorder = makeRecorder();
  for (int i = 0; i < 11; ++i) {
    recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "attempt " + std::to_string(i));
    clock_->advance(10s);
  }
  flush();

  std::vector<json> all = events();
  ASSERT_EQ(all.size(), 10u);  // nine as they came, then one combined
  std::vector<json> combined;
  for (const json& event : all) {
    if (event["message"].get<std::string>().starts_with("(combined from similar events): ")) {
      combined.push_back(event);
    } else {
      EXPECT_EQ(event["count"], 1);
    }
  }
  ASSERT_EQ(combined.size(), 1u);
  EXPECT_EQ(combined[0]["message"], "(combined from similar events): attempt 10");
  EXPECT_EQ(combined[0]["count"], 2);  // attempts 9 and 10
  EXPECT_EQ(combined[0]["reason"], "SyncFailed");
  EXPECT_EQ(combined[0]["involvedObject"]["name"], "vm-1");
  EventRecorderStats stats = recorder.stats();
  EXPECT_EQ(stats.created, 10u);
  EXPECT_EQ(stats.patched, 1u);
}

TEST_F(EventRecorderTest, SimilarEventsFurtherApartThanTheWindowAreNotCombined) {
  ApiEventRecorder& recorder = makeRecorder();
  for (int i = 0; i < 11; ++i) {
    recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "attempt " + std::to_string(i));
    flush();
    clock_->advance(601s);  // the gap resets the similar-event count
  }
  for (const json& event : events()) {
    EXPECT_FALSE(event["message"].get<std::string>().starts_with("(combined")) << event["message"];
  }
  EXPECT_EQ(events().size(), 11u);
}

TEST_F(EventRecorderTest, TheSpamFilterStopsAnObjectAfter25AndLetsOneThroughEveryFiveMinutes) {
  ApiEventRecorder& recorder = makeRecorder();
  for (int i = 0; i < 30; ++i) {
    recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "libvirt is down");
  }
  flush();
  EXPECT_EQ(onlyEvent()["count"], 25);
  EXPECT_EQ(recorder.stats().filtered, 5u);

  // Another object has its own bucket.
  recorder.event(domainRef("vm-2"), EventType::Warning, "SyncFailed", "libvirt is down");
  flush();
  EXPECT_EQ(events().size(), 2u);

  clock_->advance(299s);
  recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "libvirt is down");
  flush();
  EXPECT_EQ(recorder.stats().filtered, 6u);

  clock_->advance(2s);  // past five minutes: one token
  recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "libvirt is down");
  recorder.event(domainRef("vm-1"), EventType::Warning, "SyncFailed", "libvirt is down");
  flush();
  EXPECT_EQ(recorder.stats().filtered, 7u);
  // The one let through carries every occurrence so far, the skipped ones included.
  for (const json& event : events()) {
    if (event["involvedObject"]["name"] == "vm-1") {
      EXPECT_EQ(event["count"], 32);
    }
  }
}

TEST_F(EventRecorderTest, ServerErrorsAreRetriedWithBackoffThenDroppedWithoutBlockingTheCaller) {
  api_->handler().faults().add(apiserver::Fault{.method = "POST", .pathPrefix = kEventsPath, .status = 503});
  ApiEventRecorder& recorder = makeRecorder(/*queueCapacity=*/5);
  recorder.event(domainRef("vm-0"), EventType::Warning, "SyncFailed", "first");
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; })) << "the sender should wait to retry";
  EXPECT_EQ(api_->handler().faults().injected(), 1) << "no second attempt before the clock moves";

  // The sender is parked in its backoff: recording still returns at once, and a full queue drops.
  for (int i = 1; i <= 10; ++i) {
    recorder.event(domainRef("vm-" + std::to_string(i)), EventType::Warning, "SyncFailed", "more");
  }
  EXPECT_EQ(recorder.stats().dropped, 5u);
  EXPECT_EQ(recorder.stats().recorded, 11u);

  // Each of the six events accepted gets four attempts, with waits between them on the clock: every
  // 4 s step ends one wait, and the sender parks again before the next step.
  int attempts = api_->handler().faults().injected();
  for (int step = 0; step < 100 && recorder.stats().abandoned < 6; ++step) {
    clock_->advance(4s);
    ASSERT_TRUE(eventually([&] {
      return (api_->handler().faults().injected() > attempts && clock_->waiting() == 1) ||
             recorder.stats().abandoned == 6;
    }));
    attempts = api_->handler().faults().injected();
  }
  flush();
  EventRecorderStats stats = recorder.stats();
  EXPECT_EQ(stats.abandoned, 6u);
  EXPECT_EQ(stats.retries, 18u);
  EXPECT_EQ(stats.recorded, stats.dropped + stats.abandoned);
  EXPECT_EQ(api_->handler().faults().injected(), 24);
  EXPECT_TRUE(events().empty());

  // The server is back: events flow again.
  api_->handler().faults().clear();
  recorder.event(domainRef("vm-0"), EventType::Normal, "Synced", "back");
  flush();
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(EventRecorderTest, ARefusalIsNotRetried) {
  ApiEventRecorder& recorder = makeRecorder();
  ObjectReference elsewhere = domainRef("vm-1");
  elsewhere.ns = "no-such-namespace";  // the server refuses Events there with NotFound
  recorder.event(elsewhere, EventType::Normal, "Synced", "ok");
  flush();
  EXPECT_EQ(recorder.stats().rejected, 1u);
  EXPECT_EQ(recorder.stats().retries, 0u);
  EXPECT_EQ(clock_->waiting(), 0);
}

TEST_F(EventRecorderTest, StopWithTheServerDownReturnsAndAccountsForEveryEvent) {
  api_->handler().faults().add(apiserver::Fault{.method = "POST", .pathPrefix = kEventsPath, .status = 500});
  ApiEventRecorder& recorder = makeRecorder();
  recorder.event(domainRef("vm-1"), EventType::Normal, "A", "a");
  recorder.event(domainRef("vm-2"), EventType::Normal, "B", "b");
  recorder.event(domainRef("vm-3"), EventType::Normal, "C", "c");
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));
  recorder.stop();
  recorder.event(domainRef("vm-4"), EventType::Normal, "D", "d");

  EventRecorderStats stats = recorder.stats();
  EXPECT_EQ(stats.recorded, 4u);
  EXPECT_EQ(stats.abandoned, 1u);  // the one in its backoff
  EXPECT_EQ(stats.dropped, 3u);    // two behind it, one after stop
  EXPECT_EQ(api_->handler().faults().injected(), 1);
}

TEST_F(EventRecorderTest, StopWritesWhatIsQueued) {
  ApiEventRecorder& recorder = makeRecorder();
  for (int i = 0; i < 20; ++i) {
    recorder.event(domainRef("vm-" + std::to_string(i)), EventType::Normal, "Synced", "ok");
  }
  recorder.stop();
  EXPECT_EQ(recorder.stats().created, 20u);
  EXPECT_EQ(events().size(), 20u);
}

TEST_F(EventRecorderTest, ConcurrentRecordersNeverLoseCount) {
  ApiEventRecorder& recorder = makeRecorder(/*queueCapacity=*/100000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&recorder, t] {
      for (int i = 0; i < 50; ++i) {
        recorder.event(domainRef("vm-" + std::to_string(t * 50 + i)), EventType::Normal, "Synced", "ok");
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  flush();
  EventRecorderStats stats = recorder.stats();
  EXPECT_EQ(stats.recorded, 200u);
  EXPECT_EQ(stats.created, 200u);
  EXPECT_EQ(events().size(), 200u);
}

// The correlator alone.

Event sample(const std::string& object, const std::string& message) {
  Event event;
  event.ns = "vms";
  event.involvedObject = domainRef(object);
  event.type = "Normal";
  event.reason = "Synced";
  event.message = message;
  event.sourceComponent = "virtsnap-agent";
  event.sourceHost = "node-1";
  return event;
}

TEST(EventCorrelatorTest, NamesAreUniqueWhileTheWallClockStandsStill) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  FakeWallClock wall;
  EventCorrelator correlator(EventCorrelatorOptions{}, clock, wall.function());
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    CorrelatedEvent result = correlator.correlate(sample("vm-" + std::to_string(i % 2), std::to_string(i)));
    ASSERT_FALSE(result.skip);
    EXPECT_EQ(result.event.count, 1);
    names.insert(result.event.name.substr(result.event.name.find('.')));
  }
  EXPECT_EQ(names.size(), 5u);
}

TEST(EventCorrelatorTest, KeysDoNotRunFieldsTogether) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  EventCorrelator correlator(EventCorrelatorOptions{}, clock, nullptr);
  Event first = sample("vm-1", "x");
  first.reason = "ab";
  first.message = "c";
  Event second = sample("vm-1", "x");
  second.reason = "a";
  second.message = "bc";
  EXPECT_EQ(correlator.correlate(first).event.count, 1);
  EXPECT_EQ(correlator.correlate(second).event.count, 1) << "a different event, not a repeat";
}

TEST(EventCorrelatorTest, ARepeatPatchesCountTimestampAndMessage) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  FakeWallClock wall;
  EventCorrelator correlator(EventCorrelatorOptions{}, clock, wall.function());
  Event event = sample("vm-1", "hello");
  event.firstTimestamp = event.lastTimestamp = wall.function()();
  CorrelatedEvent first = correlator.correlate(event);
  first.event.resourceVersion = "17";
  correlator.updateState(first.event);

  wall.advance(5s);
  event.firstTimestamp = event.lastTimestamp = wall.function()();
  CorrelatedEvent again = correlator.correlate(event);
  EXPECT_EQ(again.event.name, first.event.name);
  EXPECT_EQ(again.event.count, 2);
  EXPECT_EQ(again.event.resourceVersion, "17");
  EXPECT_EQ(again.event.firstTimestamp, first.event.firstTimestamp);
  EXPECT_EQ(json::parse(again.patch),
            (json{{"count", 2}, {"lastTimestamp", "2024-05-01T12:00:05Z"}, {"message", "hello"}}));
}

TEST(EventCorrelatorTest, CachesForgetTheLeastRecentlyUsedKeys) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  EventCorrelatorOptions options;
  options.cacheSize = 2;
  EventCorrelator correlator(options, clock, nullptr);
  EXPECT_EQ(correlator.correlate(sample("vm-1", "m")).event.count, 1);
  EXPECT_EQ(correlator.correlate(sample("vm-2", "m")).event.count, 1);
  EXPECT_EQ(correlator.correlate(sample("vm-1", "m")).event.count, 2);  // vm-1 used last
  EXPECT_EQ(correlator.correlate(sample("vm-3", "m")).event.count, 1);  // evicts vm-2
  EXPECT_EQ(correlator.correlate(sample("vm-1", "m")).event.count, 3);
  EXPECT_EQ(correlator.correlate(sample("vm-2", "m")).event.count, 1) << "vm-2 was forgotten";
}

TEST(EventCorrelatorTest, EventJsonRoundTrips) {
  Event event = sample("vm-1", "hello");
  event.name = "vm-1.abc";
  event.resourceVersion = "9";
  event.count = 4;
  event.firstTimestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1714564800));
  event.lastTimestamp = event.firstTimestamp + 90s;
  std::optional<Event> back = Event::fromJson(event.toJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->toJson(), event.toJson());
  EXPECT_FALSE(Event::fromJson(json{{"kind", "Event"}}).has_value());
}

}  // namespace
}  // namespace virtsnap::kube
