#include "controller/kube/watcher.h"

#include <thread>

#include <gtest/gtest.h>

#include "crds/domain.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_api_client.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::eventually;
using testsupport::kubeError;

nlohmann::json domain(const std::string& name, const std::string& node = "node-a") {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"namespace", "vms"}, {"name", name}}},
          {"spec", {{"nodeName", node}}}};
}

WatcherConfig domainsConfig() {
  WatcherConfig config;
  config.type = meta::Resource<crds::Domain>::type();
  config.ns = "vms";
  return config;
}

// "InitApply vms/a@101"; InitStarted and InitDone alone.
std::string describe(const WatcherEvent& event) {
  std::string text = watcherEventTypeName(event.type);
  if (event.object.is_object()) {
    const auto& metadata = event.object["metadata"];
    text += " " + metadata.value("namespace", "") + "/" + metadata.value("name", "") + "@" +
            metadata.value("resourceVersion", "");
  }
  return text;
}

class WatcherTest : public ::testing::Test {
 protected:
  void start(WatcherConfig config = domainsConfig()) {
    watcher_ = std::make_unique<Watcher>(client_, std::move(config), clock_, seededRandom(5));
    thread_ = std::thread([this] {
      watcher_->run(
          [this](WatcherEvent&& event) {
            std::lock_guard lock(mutex_);
            events_.push_back(std::move(event));
          },
          [this](const WatcherFailure& failure) {
            std::lock_guard lock(mutex_);
            failures_.push_back(failure);
            retryAt_.push_back(clock_->now() + failure.retryIn);
          });
    });
  }
  void TearDown() override { stopWatcher(); }
  void stopWatcher() {
    if (watcher_) {
      watcher_->stop();
    }
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  // Waits until the watcher has taken in everything sent and is blocked on its open stream.
  void awaitWatching() {
    ASSERT_TRUE(eventually([&] { return client_->idleStreams() == 1; })) << "the watcher never settled";
  }
  std::vector<std::string> takeEvents() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> described;
    for (const auto& event : events_) {
      described.push_back(describe(event));
    }
    events_.clear();
    return described;
  }
  std::vector<WatcherFailure> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  // Waits for the watcher to park in its backoff after failure number `count`, then moves the clock
  // past the delay it announced.
  void passBackoff(std::size_t count) {
    ASSERT_TRUE(eventually([&] { return failures().size() >= count && clock_->waiting() == 1; }))
        << "the watcher did not wait after failure " << count;
    clock_->advance(failures()[count - 1].retryIn);
  }

  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<testsupport::ScriptedApiClient> client_ =
      std::make_shared<testsupport::ScriptedApiClient>();
  std::unique_ptr<Watcher> watcher_;
  std::thread thread_;
  std::mutex mutex_;  // guards events_ and failures_
  std::vector<WatcherEvent> events_;
  std::vector<WatcherFailure> failures_;
  std::vector<Clock::TimePoint> retryAt_;  // when each failure's wait ends
};

TEST_F(WatcherTest, ListsThenWatchesFromTheListsResourceVersion) {
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  start();
  awaitWatching();
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"InitStarted", "InitApply vms/a@101",
                                                    "InitApply vms/b@102", "InitDone"}));
  ASSERT_EQ(client_->watchCount(), 1U);
  const ListOptions watch = client_->watchCalls()[0];
  EXPECT_EQ(watch.resourceVersion, "102");
  EXPECT_TRUE(watch.allowWatchBookmarks);
  EXPECT_EQ(watch.timeoutSeconds, 290);
  EXPECT_EQ(client_->listCalls()[0].resourceVersion, "") << "the first list reads the most recent state";

  client_->upsert(domain("c"));
  client_->upsert(domain("a", "node-b"));
  client_->erase("vms", "b");
  awaitWatching();
  EXPECT_EQ(takeEvents(),
            (std::vector<std::string>{"Apply vms/c@103", "Apply vms/a@104", "Delete vms/b@105"}));
  EXPECT_EQ(watcher_->resourceVersion(), "105");
  EXPECT_TRUE(failures().empty());
}

TEST_F(WatcherTest, ListedItemsGetTheTypeTheListLeftOut) {
  client_->upsert(domain("a"));
  start();
  awaitWatching();
  std::lock_guard lock(mutex_);
  ASSERT_EQ(events_.size(), 3U);
  EXPECT_EQ(events_[1].object["kind"], "Domain");
  EXPECT_EQ(events_[1].object["apiVersion"], meta::Resource<crds::Domain>::type().apiVersion());
}

TEST_F(WatcherTest, PagesTheListWithLimitAndContinue) {
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    client_->upsert(domain(name));
  }
  WatcherConfig config = domainsConfig();
  config.pageSize = 2;
  start(config);
  awaitWatching();
  EXPECT_EQ(takeEvents(),
            (std::vector<std::string>{"InitStarted", "InitApply vms/a@101", "InitApply vms/b@102",
                                      "InitApply vms/c@103", "InitApply vms/d@104", "InitApply vms/e@105",
                                      "InitDone"}));
  const auto lists = client_->listCalls();
  ASSERT_EQ(lists.size(), 3U);
  EXPECT_EQ(lists[0].limit, 2);
  EXPECT_EQ(lists[0].continueToken, "");
  EXPECT_EQ(lists[1].continueToken, "vms/b");
  EXPECT_EQ(lists[2].continueToken, "vms/d");
  EXPECT_EQ(client_->watchCalls()[0].resourceVersion, "105");
}

TEST_F(WatcherTest, PassesSelectorsToTheListAndTheWatch) {
  WatcherConfig config = domainsConfig();
  config.fieldSelector = "spec.nodeName=node-a";
  config.labelSelector = "tier=gold";
  start(config);
  awaitWatching();
  EXPECT_EQ(client_->listCalls()[0].fieldSelector, "spec.nodeName=node-a");
  EXPECT_EQ(client_->listCalls()[0].labelSelector, "tier=gold");
  EXPECT_EQ(client_->watchCalls()[0].fieldSelector, "spec.nodeName=node-a");
  EXPECT_EQ(client_->watchCalls()[0].labelSelector, "tier=gold");
}

TEST_F(WatcherTest, BookmarksMoveTheResourceVersionWithoutEvents) {
  client_->upsert(domain("a"));
  start();
  awaitWatching();
  takeEvents();
  client_->bookmark(/*version=*/500);
  ASSERT_TRUE(eventually([&] { return watcher_->resourceVersion() == "500"; }));
  awaitWatching();
  EXPECT_TRUE(takeEvents().empty());

  client_->endStreams();  // the next watch must start from the bookmark
  passBackoff(1);
  ASSERT_TRUE(eventually([&] { return client_->watchCount() == 2; }));
  EXPECT_EQ(client_->watchCalls()[1].resourceVersion, "500");
  EXPECT_EQ(client_->listCount(), 1U);
}

TEST_F(WatcherTest, ResumesFromTheLastResourceVersionAfterADroppedStream) {
  client_->upsert(domain("a"));
  start();
  awaitWatching();
  client_->upsert(domain("b"));
  client_->upsert(domain("c"));
  awaitWatching();
  takeEvents();

  client_->breakStreams(kubeError(ErrorKind::Network, 0, "connection reset"));
  ASSERT_TRUE(eventually([&] { return failures().size() == 1; }));
  EXPECT_EQ(failures()[0].stage, WatcherStage::WatchStream);
  EXPECT_FALSE(failures()[0].relist);
  client_->upsert(domain("d"));  // happens while the watcher is away: replayed from the history
  passBackoff(1);
  awaitWatching();

  ASSERT_EQ(client_->watchCount(), 2U);
  EXPECT_EQ(client_->watchCalls()[1].resourceVersion, "103");
  EXPECT_EQ(client_->listCount(), 1U) << "a drop is resumed, not relisted";
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"Apply vms/d@104"}));
}

TEST_F(WatcherTest, AStreamThatEndsIsResumedAfterTheBackoff) {
  start();
  awaitWatching();
  client_->endStreams();
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(client_->watchCount(), 2U);
  EXPECT_EQ(client_->watchCalls()[1].resourceVersion, "100");
  EXPECT_GE(failures()[0].retryIn, milliseconds(800));
}

TEST_F(WatcherTest, AStreamThatDeliveredAnEventStartsTheBackoffOver) {
  start();
  awaitWatching();
  client_->endStreams();
  passBackoff(1);
  awaitWatching();
  client_->endStreams();  // nothing came through that watch: the delay grows
  passBackoff(2);
  awaitWatching();
  client_->upsert(domain("a"));
  awaitWatching();
  client_->endStreams();  // this one delivered: its end is a first failure again
  passBackoff(3);
  awaitWatching();
  const auto seen = failures();
  EXPECT_GE(seen[1].retryIn, milliseconds(1600));
  EXPECT_GE(seen[2].retryIn, milliseconds(800));
  EXPECT_LT(seen[2].retryIn, milliseconds(1600)) << "the backoff was not started over";
}

TEST_F(WatcherTest, RelistsWhenTheResumedWatchIsGone) {
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  start();
  awaitWatching();
  takeEvents();
  client_->breakStreams(kubeError(ErrorKind::Network, 0, "connection reset"));
  ASSERT_TRUE(eventually([&] { return failures().size() == 1; }));
  client_->erase("vms", "a");
  client_->upsert(domain("c"));
  client_->compact();  // the history the watcher would resume from is gone
  passBackoff(1);
  passBackoff(2);  // the watch answered 410: back off, then list again
  awaitWatching();

  const auto seen = failures();
  EXPECT_EQ(seen[1].stage, WatcherStage::WatchStart);
  EXPECT_EQ(seen[1].error.kind, ErrorKind::Gone);
  EXPECT_TRUE(seen[1].relist);
  EXPECT_EQ(client_->listCount(), 2U);
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"InitStarted", "InitApply vms/b@102",
                                                    "InitApply vms/c@104", "InitDone"}));
  EXPECT_EQ(client_->watchCalls().back().resourceVersion, "104");
}

TEST_F(WatcherTest, RelistsOnAGoneErrorEventInTheStream) {
  client_->upsert(domain("a"));
  start();
  awaitWatching();
  takeEvents();
  client_->sendError({{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old"}});
  passBackoff(1);
  awaitWatching();
  EXPECT_TRUE(failures()[0].relist);
  EXPECT_EQ(failures()[0].error.kind, ErrorKind::Gone);
  EXPECT_EQ(client_->listCount(), 2U);
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"InitStarted", "InitApply vms/a@101", "InitDone"}));
}

TEST_F(WatcherTest, RelistsWhenTheStreamBreaksWithGone) {
  start();
  awaitWatching();
  client_->breakStreams(kubeError(ErrorKind::Gone, 410, "too old resource version"));
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(client_->listCount(), 2U);
}

TEST_F(WatcherTest, AnotherErrorEventResumesWithoutRelisting) {
  start();
  awaitWatching();
  client_->sendError({{"kind", "Status"}, {"code", 500}, {"reason", "InternalError"}});
  passBackoff(1);
  awaitWatching();
  EXPECT_FALSE(failures()[0].relist);
  EXPECT_EQ(failures()[0].error.httpStatus, 500);
  EXPECT_EQ(client_->listCount(), 1U);
  EXPECT_EQ(client_->watchCount(), 2U);
}

TEST_F(WatcherTest, AFailedWatchStartIsRetriedFromTheSameVersion) {
  client_->failWatches(2, kubeError(ErrorKind::ServerError, 503, "unavailable"));
  start();
  passBackoff(1);
  passBackoff(2);
  awaitWatching();
  const auto watches = client_->watchCalls();
  ASSERT_EQ(watches.size(), 3U);
  EXPECT_EQ(watches[2].resourceVersion, watches[0].resourceVersion);
  EXPECT_EQ(client_->listCount(), 1U);
  EXPECT_GT(failures()[1].retryIn, failures()[0].retryIn) << "the delay grows";
}

TEST_F(WatcherTest, AFailedListIsRetriedAfterTheBackoff) {
  client_->upsert(domain("a"));
  client_->failLists(1, kubeError(ErrorKind::ServerError, 500, "boom"));
  start();
  ASSERT_TRUE(eventually([&] { return failures().size() == 1 && clock_->waiting() == 1; }));
  EXPECT_EQ(client_->listCount(), 1U);
  EXPECT_EQ(failures()[0].stage, WatcherStage::List);
  EXPECT_TRUE(takeEvents().empty());
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"InitStarted", "InitApply vms/a@101", "InitDone"}));
}

TEST_F(WatcherTest, AListThatFailsHalfWayStartsOverWithANewInitStarted) {
  for (const char* name : {"a", "b", "c"}) {
    client_->upsert(domain(name));
  }
  WatcherConfig config = domainsConfig();
  config.pageSize = 2;
  client_->failLists(1, kubeError(ErrorKind::ServerError, 500, "boom"), /*after=*/1);  // the 2nd page
  start(config);
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(takeEvents(),
            (std::vector<std::string>{"InitStarted", "InitApply vms/a@101", "InitApply vms/b@102",
                                      "InitStarted", "InitApply vms/a@101", "InitApply vms/b@102",
                                      "InitApply vms/c@103", "InitDone"}));
  const auto lists = client_->listCalls();
  ASSERT_EQ(lists.size(), 4U);
  EXPECT_EQ(lists[2].continueToken, "") << "the retry starts from the first page";
}

TEST_F(WatcherTest, A5xxStormOnListBacksOffInsteadOfLooping) {
  client_->failLists(-1, kubeError(ErrorKind::ServerError, 503, "unavailable"));
  start();
  const auto begin = clock_->now();
  // Move the fake clock through 60 s in 100 ms steps, each while the watcher sleeps in its backoff; a
  // step that ends a wait is followed by waiting for the watcher's next attempt to fail.
  while (clock_->now() - begin < seconds(60)) {
    ASSERT_TRUE(eventually([&] { return !failures().empty() && clock_->waiting() == 1; }));
    const std::size_t failed = failures().size();
    Clock::TimePoint retryAt;
    {
      std::lock_guard lock(mutex_);
      retryAt = retryAt_.back();
    }
    clock_->advance(milliseconds(100));
    if (clock_->now() >= retryAt) {
      ASSERT_TRUE(eventually([&] { return failures().size() > failed; }));
    }
  }
  const std::size_t lists = client_->listCount();
  RecordProperty("listRequestsIn60s", static_cast<int>(lists));
  EXPECT_LE(lists, 10U) << "a hot loop";
  EXPECT_GE(lists, 5U) << "it must keep trying";
  const auto seen = failures();
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].retryIn, seen[i - 1].retryIn) << "failure " << i;
    EXPECT_LE(seen[i].retryIn, seconds(30));
  }
}

TEST_F(WatcherTest, RetryAfterFromTheServerLengthensTheWait) {
  KubeError throttled = kubeError(ErrorKind::TooManyRequests, 429, "slow down");
  throttled.retryAfter = seconds(7);
  client_->failLists(1, throttled);
  start();
  ASSERT_TRUE(eventually([&] { return failures().size() == 1; }));
  EXPECT_EQ(failures()[0].retryIn, seconds(7));
}

TEST_F(WatcherTest, AnEventWithoutAResourceVersionBreaksTheStreamAndIsResumed) {
  start();
  awaitWatching();
  client_->send(WatchEvent{WatchEventType::Added, domain("x")});  // no metadata.resourceVersion
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(failures()[0].error.kind, ErrorKind::Decode);
  EXPECT_FALSE(failures()[0].relist);
  EXPECT_EQ(client_->listCount(), 1U);
  EXPECT_EQ(takeEvents(), (std::vector<std::string>{"InitStarted", "InitDone"}))
      << "the broken event is not passed on";
}

TEST_F(WatcherTest, StopEndsAnOpenWatchPromptly) {
  start();
  awaitWatching();
  watcher_->stop();
  thread_.join();  // returns: the stream was cancelled
  EXPECT_EQ(client_->openStreams(), 0U);
}

TEST_F(WatcherTest, StopWakesABackoffWait) {
  client_->failLists(-1, kubeError(ErrorKind::ServerError, 500, "down"));
  start();
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));
  watcher_->stop();
  thread_.join();  // returns without the clock moving
  EXPECT_EQ(client_->listCount(), 1U);
}

TEST_F(WatcherTest, StopBeforeRunMakesRunReturnAtOnce) {
  watcher_ = std::make_unique<Watcher>(client_, domainsConfig(), clock_, seededRandom(1));
  watcher_->stop();
  watcher_->run([](WatcherEvent&&) {});
  EXPECT_EQ(client_->listCount(), 0U);
}

}  // namespace
}  // namespace virtsnap::kube
