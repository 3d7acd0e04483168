#include "controller/kube/informer.h"

#include <future>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "crds/domain.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_api_client.h"
#include "tests/support/world_mirror.h"

namespace virtsnap::kube {
namespace {

using std::chrono::seconds;
using testsupport::eventually;
using testsupport::kubeError;

nlohmann::json domain(const std::string& name, const std::string& node = "node-a") {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"namespace", "vms"}, {"name", name}}},
          {"spec", {{"nodeName", node}, {"memory", "2Gi"}}},
          {"status", {{"state", "Running"}, {"bulky", std::string(200, 'x')}}}};
}

std::map<std::string, std::string> serverVersions(const testsupport::ScriptedApiClient& client,
                                                  const std::string& node = "") {
  std::map<std::string, std::string> versions;
  for (const auto& [key, object] : client.objects()) {
    if (node.empty() || object["spec"]["nodeName"] == node) {
      versions[key] = object["metadata"]["resourceVersion"].get<std::string>();
    }
  }
  return versions;
}

class InformerTest : public ::testing::Test {
 protected:
  InformerOptions options() {
    InformerOptions result;
    result.watcher.type = meta::Resource<crds::Domain>::type();
    result.watcher.ns = "vms";
    result.onFailure = [this](const WatcherFailure& failure) {
      std::lock_guard lock(mutex_);
      failures_.push_back(failure);
    };
    return result;
  }
  void start(InformerOptions informerOptions) {
    informer_ = std::make_unique<Informer>(client_, std::move(informerOptions), clock_, seededRandom(11));
    informer_->addHandler(mirror_.handler());
    informer_->start();
  }
  void TearDown() override {
    if (informer_) {
      informer_->stop();
    }
  }
  void awaitWatching() {
    ASSERT_TRUE(eventually([&] { return client_->idleStreams() == 1; })) << "the informer never settled";
  }
  std::size_t failureCount() {
    std::lock_guard lock(mutex_);
    return failures_.size();
  }
  // Waits for failure number `count` and for the watcher to sleep on it (`sleepers` threads in all wait
  // on the clock), then moves the clock past its delay.
  void passBackoff(std::size_t count, int sleepers = 1) {
    ASSERT_TRUE(eventually([&] { return failureCount() >= count && clock_->waiting() == sleepers; }));
    std::lock_guard lock(mutex_);
    clock_->advance(failures_[count - 1].retryIn);
  }

  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<testsupport::ScriptedApiClient> client_ =
      std::make_shared<testsupport::ScriptedApiClient>();
  testsupport::WorldMirror mirror_;
  std::unique_ptr<Informer> informer_;
  std::mutex mutex_;  // guards failures_
  std::vector<WatcherFailure> failures_;
};

TEST_F(InformerTest, SyncsThenPassesEveryChangeToTheHandlersAfterTheCache) {
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  InformerOptions informerOptions = options();
  start(informerOptions);
  ASSERT_TRUE(informer_->waitForSync(clock_->now() + std::chrono::hours(1)));
  EXPECT_TRUE(informer_->hasSynced());
  awaitWatching();
  EXPECT_EQ(mirror_.adds(), 2);
  EXPECT_EQ(informer_->cache().size(), 2U);

  // A handler that looks at the cache sees the change it is told about already there.
  std::atomic<int> cacheBehind{0};
  informer_->addHandler(EventHandler{nullptr,
                                     [&](const ObjectPtr&, const ObjectPtr& current) {
                                       if (informer_->cache().get(objectKey(*current)) != current) {
                                         ++cacheBehind;
                                       }
                                     },
                                     nullptr});
  client_->upsert(domain("c"));
  client_->upsert(domain("a", "node-b"));
  client_->erase("vms", "b");
  awaitWatching();
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_));
  EXPECT_EQ(mirror_.adds(), 3);
  EXPECT_EQ(mirror_.updates(), 1);
  EXPECT_EQ(mirror_.deletes(), 1);
  EXPECT_EQ(mirror_.unknownFinalStates(), 0);
  EXPECT_EQ(mirror_.violations(), 0);
  EXPECT_EQ(cacheBehind.load(), 0);
  EXPECT_EQ(informer_->resourceVersion(), "105");
}

TEST_F(InformerTest, IsNotSyncedUntilTheFirstListSucceeds) {
  client_->failLists(2, kubeError(ErrorKind::ServerError, 503, "unavailable"));
  start(options());
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  EXPECT_FALSE(informer_->hasSynced());
  passBackoff(1);
  passBackoff(2);
  ASSERT_TRUE(informer_->waitForSync(clock_->now() + seconds(1)));
  EXPECT_TRUE(informer_->hasSynced());
}

TEST_F(InformerTest, WaitForSyncGivesUpAtItsDeadline) {
  client_->failLists(-1, kubeError(ErrorKind::ServerError, 503, "unavailable"));
  start(options());
  const auto deadline = clock_->now() + seconds(5);
  auto waited = std::async(std::launch::async, [&] { return informer_->waitForSync(deadline); });
  // The watcher's backoff and the waiter both sleep on the clock; move it past the deadline.
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 2; }));
  clock_->advance(seconds(5));
  EXPECT_FALSE(waited.get());
  EXPECT_FALSE(informer_->hasSynced());
}

TEST_F(InformerTest, WaitForSyncReturnsFalseWhenStopped) {
  client_->failLists(-1, kubeError(ErrorKind::ServerError, 503, "unavailable"));
  start(options());
  auto waited = std::async(std::launch::async,
                           [&] { return informer_->waitForSync(clock_->now() + std::chrono::hours(1)); });
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 2; }));
  informer_->stop();
  EXPECT_FALSE(waited.get());
}

// The handler's reconstruction of the world equals the server's, across a relist forced by 410 while
// changes (including deletions the watch never showed) happened.
TEST_F(InformerTest, ARelistOn410LosesAndDuplicatesNothing) {
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    client_->upsert(domain(name));
  }
  start(options());
  awaitWatching();
  client_->upsert(domain("a", "node-b"));
  client_->erase("vms", "e");
  awaitWatching();
  ASSERT_EQ(mirror_.versions(), serverVersions(*client_));

  client_->breakStreams(kubeError(ErrorKind::Network, 0, "connection reset"));
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  client_->erase("vms", "b");  // deletions the watch never shows
  client_->erase("vms", "c");
  client_->upsert(domain("d", "node-c"));
  client_->upsert(domain("f"));
  client_->compact();  // so the resume is answered 410
  passBackoff(1);
  passBackoff(2);
  awaitWatching();

  EXPECT_EQ(client_->listCount(), 2U);
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_));
  EXPECT_EQ(mirror_.unknownFinalStates(), 2) << "b and c vanished across the relist";
  EXPECT_EQ(mirror_.violations(), 0);
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/a", "vms/d", "vms/f"}));

  client_->upsert(domain("g"));
  client_->erase("vms", "a");
  awaitWatching();
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_));
  EXPECT_EQ(mirror_.violations(), 0);
}

TEST_F(InformerTest, ADroppedStreamIsResumedWithoutARelist) {
  client_->upsert(domain("a"));
  start(options());
  awaitWatching();
  client_->breakStreams(kubeError(ErrorKind::Network, 0, "connection reset"));
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  client_->upsert(domain("b"));
  client_->erase("vms", "a");
  passBackoff(1);
  awaitWatching();
  EXPECT_EQ(client_->listCount(), 1U);
  EXPECT_EQ(client_->watchCalls().back().resourceVersion, "101");
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_));
  EXPECT_EQ(mirror_.unknownFinalStates(), 0) << "the deletion was seen";
  EXPECT_EQ(mirror_.violations(), 0);
}

// The agent's hook: keep only its node's Domains, without their status.
TEST_F(InformerTest, TheFilterHookKeepsOnlyTheNodesObjectsAndSlimsThem) {
  InformerOptions informerOptions = options();
  informerOptions.transform = [](nlohmann::json&& object) -> std::optional<nlohmann::json> {
    if (object["spec"]["nodeName"] != "node-a") {
      return std::nullopt;
    }
    object.erase("status");
    return std::move(object);
  };
  client_->upsert(domain("mine"));
  client_->upsert(domain("theirs", "node-b"));
  start(informerOptions);
  awaitWatching();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/mine"}));
  EXPECT_FALSE(informer_->cache().get("vms/mine")->contains("status"));

  client_->upsert(domain("mine", "node-b"));  // moved away: a deletion for this agent
  client_->upsert(domain("theirs"));          // moved here: an addition
  client_->erase("vms", "other");             // nothing
  client_->upsert(domain("elsewhere", "node-c"));
  client_->erase("vms", "elsewhere");  // never cached: no handler call
  awaitWatching();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/theirs"}));
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_, "node-a"));
  EXPECT_EQ(mirror_.adds(), 2);
  EXPECT_EQ(mirror_.deletes(), 1);
  EXPECT_EQ(mirror_.violations(), 0);
}

// The agent's use: what the transform admits depends on something outside the objects (its node's
// Domains). relist() brings in what it admits now, refilter() removes what it drops now; a dropped
// object never reaches a handler, and its next event that passes adds it.
class InformerStorageTest : public InformerTest, public ::testing::WithParamInterface<CacheStorage> {};

TEST_P(InformerStorageTest, RelistAdmitsAndRefilterRemovesWhatTheTransformDecidesAnew) {
  std::mutex mutex;
  std::set<std::string> admitted{"vms/a"};  // guarded by mutex
  std::set<std::string> heard;              // guarded by mutex: every key a handler was told about
  InformerOptions informerOptions = options();
  informerOptions.storage = GetParam();
  informerOptions.transform = [&](nlohmann::json&& object) -> std::optional<nlohmann::json> {
    std::lock_guard lock(mutex);
    if (admitted.count(objectKey(object)) == 0) {
      return std::nullopt;
    }
    object.erase("status");
    return std::move(object);
  };
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  client_->upsert(domain("c"));
  informer_ = std::make_unique<Informer>(client_, informerOptions, clock_, seededRandom(5));
  informer_->addHandler(mirror_.handler());
  auto hear = [&](const ObjectPtr& object) {
    std::lock_guard lock(mutex);
    heard.insert(objectKey(*object));
  };
  informer_->addHandler(EventHandler{hear, [&](const ObjectPtr&, const ObjectPtr& current) { hear(current); },
                                     [&](const ObjectPtr& last, bool) { hear(last); }});
  informer_->start();
  awaitWatching();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/a"}));
  EXPECT_FALSE(informer_->cache().get("vms/a")->contains("status"));

  // b is admitted now, but nothing about it changes on the server: only a relist brings it in.
  {
    std::lock_guard lock(mutex);
    admitted.insert("vms/b");
  }
  informer_->relist();
  ASSERT_TRUE(
      eventually([&] { return informer_->cache().get("vms/b") != nullptr && client_->idleStreams() == 1; }));
  EXPECT_EQ(client_->listCount(), 2U);
  EXPECT_EQ(failureCount(), 0U) << "a relist asked for is no failure and waits no backoff";
  EXPECT_EQ(mirror_.adds(), 2);

  // a is dropped now: refilter removes it at once, as a deletion the handlers see.
  {
    std::lock_guard lock(mutex);
    admitted.erase("vms/a");
  }
  informer_->refilter();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/b"}));
  EXPECT_EQ(mirror_.deletes(), 1);
  EXPECT_EQ(mirror_.unknownFinalStates(), 0);

  // c changes while dropped (no handler hears of it), then its next event passes: an addition.
  client_->upsert(domain("c", "node-b"));
  awaitWatching();
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(heard, (std::set<std::string>{"vms/a", "vms/b"}));
    admitted.insert("vms/c");
  }
  client_->upsert(domain("c", "node-c"));
  awaitWatching();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/b", "vms/c"}));
  EXPECT_EQ(*informer_->cache().get("vms/c"), [&] {
    nlohmann::json expected = client_->objects().at("vms/c");
    expected.erase("status");
    return expected;
  }());
  EXPECT_EQ(mirror_.adds(), 3);
  EXPECT_EQ(mirror_.violations(), 0);
  std::map<std::string, std::string> expected = serverVersions(*client_);
  expected.erase("vms/a");
  EXPECT_EQ(mirror_.versions(), expected);
}

INSTANTIATE_TEST_SUITE_P(Storage, InformerStorageTest,
                         ::testing::Values(CacheStorage::Objects, CacheStorage::Packed),
                         [](const ::testing::TestParamInfo<CacheStorage>& param) {
                           return param.param == CacheStorage::Objects ? "Objects" : "Packed";
                         });

TEST_F(InformerTest, IndexersAnswerFromTheCache) {
  InformerOptions informerOptions = options();
  informerOptions.indexers = {{"byNode", [](const nlohmann::json& object) {
                                 return std::vector<std::string>{
                                     object["spec"]["nodeName"].get<std::string>()};
                               }}};
  client_->upsert(domain("a"));
  client_->upsert(domain("b", "node-b"));
  start(informerOptions);
  awaitWatching();
  client_->upsert(domain("c", "node-b"));
  awaitWatching();
  EXPECT_EQ(informer_->cache().byIndex("byNode", "node-b").size(), 2U);
  EXPECT_EQ(informer_->cache().byIndex("byNode", "node-a").size(), 1U);
}

TEST_F(InformerTest, ResyncRedeliversEveryCachedObjectAsAnUpdateEachPeriod) {
  InformerOptions informerOptions = options();
  informerOptions.resyncPeriod = seconds(30);
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  start(informerOptions);
  awaitWatching();
  std::atomic<int> sameObject{0};
  informer_->addHandler(EventHandler{
      nullptr,
      [&](const ObjectPtr& previous, const ObjectPtr& current) { sameObject += previous == current ? 1 : 0; },
      nullptr});
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));  // the resync thread
  clock_->advance(seconds(29));
  EXPECT_EQ(mirror_.updates(), 0);
  clock_->advance(seconds(1));
  ASSERT_TRUE(eventually([&] { return mirror_.updates() == 2; }));
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));
  clock_->advance(seconds(30));
  ASSERT_TRUE(eventually([&] { return mirror_.updates() == 4; }));
  EXPECT_EQ(sameObject.load(), 4);
  EXPECT_EQ(mirror_.violations(), 0);
}

TEST_F(InformerTest, AHandlerAddedLateFirstHearsOfWhatIsCached) {
  client_->upsert(domain("a"));
  client_->upsert(domain("b"));
  start(options());
  awaitWatching();
  testsupport::WorldMirror late;
  informer_->addHandler(late.handler());
  EXPECT_EQ(late.versions(), serverVersions(*client_));
  client_->upsert(domain("c"));
  awaitWatching();
  EXPECT_EQ(late.versions(), serverVersions(*client_));
  EXPECT_EQ(late.violations(), 0);
}

TEST_F(InformerTest, AThrowingHandlerIsCountedAndTheOthersStillRun) {
  client_->upsert(domain("a"));
  InformerOptions informerOptions = options();
  informer_ = std::make_unique<Informer>(client_, informerOptions, clock_, seededRandom(3));
  informer_->addHandler(
      EventHandler{[](const ObjectPtr&) { throw std::runtime_error("bad handler"); }, nullptr, nullptr});
  informer_->addHandler(mirror_.handler());
  informer_->start();
  awaitWatching();
  client_->upsert(domain("b"));
  awaitWatching();
  EXPECT_EQ(informer_->handlerExceptions(), 2U);
  EXPECT_EQ(mirror_.versions(), serverVersions(*client_));
}

TEST_F(InformerTest, StopFromTwoThreadsAtOnceJoinsOnce) {
  client_->upsert(domain("a"));
  InformerOptions informerOptions = options();
  informerOptions.resyncPeriod = seconds(30);
  start(informerOptions);
  awaitWatching();
  std::thread other([&] { informer_->stop(); });
  informer_->stop();
  other.join();
  EXPECT_EQ(client_->openStreams(), 0U);
}

TEST_F(InformerTest, StopWithoutStartAndTwiceIsFine) {
  Informer informer(client_, options(), clock_, seededRandom(1));
  informer.stop();
  informer.stop();
  informer.start();  // after stop: does nothing
  EXPECT_FALSE(informer.hasSynced());
  EXPECT_EQ(client_->listCount(), 0U);
}

}  // namespace
}  // namespace virtsnap::kube
