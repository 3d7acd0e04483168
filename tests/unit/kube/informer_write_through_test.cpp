// Write-through (informer.h, write_through_client.h): the server's answer to an own write enters the
// cache at once when it is newer than the cached object, its handlers hear of it once (on the writer's
// thread), and no watch event or relist ever puts an older version back.

#include <atomic>
#include <compare>
#include <thread>

#include <gtest/gtest.h>

#include "controller/kube/informer.h"
#include "controller/kube/object_cache.h"
#include "controller/kube/write_through_client.h"
#include "crds/domain.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_api_client.h"
#include "tests/support/world_mirror.h"

namespace virtsnap::kube {
namespace {

using testsupport::eventually;

nlohmann::json domain(const std::string& name, const std::string& state = "Running") {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"namespace", "vms"}, {"name", name}}},
          {"spec", {{"nodeName", "node-a"}}},
          {"status", {{"state", state}}}};
}

// `object` at resourceVersion `version`, with `state` in its status.
nlohmann::json at(nlohmann::json object, std::uint64_t version, const std::string& state) {
  object["metadata"]["resourceVersion"] = std::to_string(version);
  object["status"]["state"] = state;
  return object;
}

std::string versionOf(const ObjectPtr& object) {
  return object ? (*object)["metadata"]["resourceVersion"].get<std::string>() : std::string("(none)");
}

std::uint64_t versionNumber(const nlohmann::json& object) {
  return std::stoull(object["metadata"]["resourceVersion"].get<std::string>());
}

TEST(CompareResourceVersions, ComparesDecimalIntegersAndNothingElse) {
  EXPECT_EQ(compareResourceVersions("9", "10"), std::strong_ordering::less);
  EXPECT_EQ(compareResourceVersions("10", "9"), std::strong_ordering::greater);
  EXPECT_EQ(compareResourceVersions("42", "42"), std::strong_ordering::equal);
  EXPECT_EQ(compareResourceVersions("18446744073709551615", "1"), std::strong_ordering::greater);
  for (const char* opaque : {"", "abc", "-1", "+1", "1a", " 1", "18446744073709551616"}) {
    EXPECT_FALSE(compareResourceVersions(opaque, "1")) << opaque;
    EXPECT_FALSE(compareResourceVersions("1", opaque)) << opaque;
  }
}

// upsertIf on both storages: a refused object is neither stored nor indexed; an accepted one moves the
// indexes as upsert() does.
class UpsertIfTest : public ::testing::TestWithParam<CacheStorage> {};

TEST_P(UpsertIfTest, StoresOnlyWhatTheDecisionAccepts) {
  ObjectCache cache({{"byState",
                      [](const nlohmann::json& object) {
                        return std::vector<std::string>{object["status"]["state"].get<std::string>()};
                      }}},
                    GetParam());
  int judged = 0;
  auto refuse = [&](const ObjectPtr&) {
    ++judged;
    return false;
  };
  auto accept = [&](const ObjectPtr&) {
    ++judged;
    return true;
  };
  auto first = cache.upsertIf(std::make_shared<const nlohmann::json>(at(domain("a"), 5, "Running")), refuse);
  EXPECT_FALSE(first.stored);
  EXPECT_EQ(first.previous, nullptr);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_TRUE(cache.indexValues("byState").empty());

  auto added = cache.upsertIf(std::make_shared<const nlohmann::json>(at(domain("a"), 5, "Running")), accept);
  EXPECT_TRUE(added.stored);
  EXPECT_EQ(added.previous, nullptr);

  auto refused = cache.upsertIf(std::make_shared<const nlohmann::json>(at(domain("a"), 6, "Paused")), refuse);
  EXPECT_FALSE(refused.stored);
  EXPECT_EQ(versionOf(refused.previous), "5");
  EXPECT_EQ(versionOf(cache.get("vms/a")), "5");
  EXPECT_EQ(cache.indexValues("byState"), (std::vector<std::string>{"Running"}));

  auto replaced =
      cache.upsertIf(std::make_shared<const nlohmann::json>(at(domain("a"), 7, "Paused")), accept);
  EXPECT_TRUE(replaced.stored);
  EXPECT_EQ(versionOf(replaced.previous), "5");
  EXPECT_EQ(versionOf(cache.get("vms/a")), "7");
  EXPECT_EQ(cache.indexValues("byState"), (std::vector<std::string>{"Paused"}));
  EXPECT_EQ(judged, 4);
}

TEST_P(UpsertIfTest, ReplaceKeepsTheCachedObjectsItIsToldTo) {
  ObjectCache cache({{"byState",
                      [](const nlohmann::json& object) {
                        return std::vector<std::string>{object["status"]["state"].get<std::string>()};
                      }}},
                    GetParam());
  cache.upsert(std::make_shared<const nlohmann::json>(at(domain("a"), 9, "Paused")));
  cache.upsert(std::make_shared<const nlohmann::json>(at(domain("b"), 3, "Running")));
  cache.upsert(std::make_shared<const nlohmann::json>(at(domain("c"), 4, "Running")));
  auto olderListed = [](const nlohmann::json& cached, const nlohmann::json& listed) {
    return versionNumber(listed) < versionNumber(cached);
  };
  // The list (at 8) has a older than the cache's and b newer; c is gone.
  auto changes = cache.replace({std::make_shared<const nlohmann::json>(at(domain("a"), 7, "Running")),
                                std::make_shared<const nlohmann::json>(at(domain("b"), 8, "Running"))},
                               olderListed);
  ASSERT_EQ(changes.size(), 3U);
  EXPECT_EQ(changes[0].key, "vms/c");
  EXPECT_EQ(changes[0].current, nullptr);
  EXPECT_EQ(changes[1].key, "vms/a");
  EXPECT_EQ(versionOf(changes[1].previous), "9");
  EXPECT_EQ(versionOf(changes[1].current), "9");
  EXPECT_EQ(changes[2].key, "vms/b");
  EXPECT_EQ(versionOf(changes[2].previous), "3");
  EXPECT_EQ(versionOf(changes[2].current), "8");
  EXPECT_EQ(versionOf(cache.get("vms/a")), "9");
  EXPECT_EQ(versionOf(cache.get("vms/b")), "8");
  EXPECT_EQ(cache.get("vms/c"), nullptr);
  EXPECT_EQ(cache.keysByIndex("byState", "Paused"), (std::vector<std::string>{"vms/a"}));
  EXPECT_EQ(cache.keysByIndex("byState", "Running"), (std::vector<std::string>{"vms/b"}));
}

INSTANTIATE_TEST_SUITE_P(Storages, UpsertIfTest,
                         ::testing::Values(CacheStorage::Objects, CacheStorage::Packed));

class InformerWriteThroughTest : public ::testing::Test {
 protected:
  void start() {
    InformerOptions options;
    options.watcher.type = meta::Resource<crds::Domain>::type();
    options.watcher.ns = "vms";
    options.storage = CacheStorage::Packed;  // as the agent's Snapshot and SnapshotRevert caches
    informer_ = std::make_unique<Informer>(client_, std::move(options), clock_, seededRandom(5));
    informer_->addHandler(mirror_.handler());
    informer_->addHandler(EventHandler{nullptr,
                                       [this](const ObjectPtr&, const ObjectPtr&) {
                                         if (std::this_thread::get_id() == writer_.load()) {
                                           ++updatesOnWriter_;
                                         }
                                       },
                                       nullptr});
    informer_->start();
    awaitWatching();
  }
  void TearDown() override {
    if (informer_) {
      informer_->stop();
    }
  }
  void awaitWatching() {
    ASSERT_TRUE(eventually([&] { return client_->idleStreams() == 1; })) << "the informer never settled";
  }
  // What the informer's cache holds for vms/<name>.
  std::string cachedVersion(const std::string& name) {
    return versionOf(informer_->cache().get("vms/" + name));
  }
  bool writeThrough(const nlohmann::json& object) {
    writer_ = std::this_thread::get_id();
    return informer_->writeThrough(object);
  }
  // A watch event the server has not sent yet (its world is not changed).
  void watchSends(WatchEventType type, const nlohmann::json& object) {
    client_->send(WatchEvent{type, object});
    awaitWatching();
  }

  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<testsupport::ScriptedApiClient> client_ =
      std::make_shared<testsupport::ScriptedApiClient>();
  testsupport::WorldMirror mirror_;
  std::unique_ptr<Informer> informer_;
  std::atomic<std::thread::id> writer_{};
  std::atomic<int> updatesOnWriter_{0};
};

TEST_F(InformerWriteThroughTest, ANewerAnswerIsCachedAtOnceAndItsWatchEventChangesNothing) {
  const nlohmann::json a = client_->upsert(domain("a"));
  start();
  const std::uint64_t v = versionNumber(a);

  // The handlers hear of it before writeThrough returns, on the writer's thread.
  ASSERT_TRUE(writeThrough(at(a, v + 2, "Paused")));
  EXPECT_EQ(cachedVersion("a"), std::to_string(v + 2));
  EXPECT_EQ(mirror_.updates(), 1);
  EXPECT_EQ(updatesOnWriter_.load(), 1);

  // The watch then shows the change before it (v+1) and the write itself (v+2): neither is news.
  watchSends(WatchEventType::Modified, at(a, v + 1, "Running"));
  watchSends(WatchEventType::Modified, at(a, v + 2, "Paused"));
  EXPECT_EQ(cachedVersion("a"), std::to_string(v + 2));
  EXPECT_EQ(mirror_.updates(), 1);
  EXPECT_EQ(informer_->eventsBehindCache(), 2U);

  // A later change by someone else is news again.
  watchSends(WatchEventType::Modified, at(a, v + 3, "Shutoff"));
  EXPECT_EQ(cachedVersion("a"), std::to_string(v + 3));
  EXPECT_EQ(mirror_.updates(), 2);
  EXPECT_EQ(informer_->writesThrough(), 1U);
  EXPECT_EQ(mirror_.violations(), 0);
}

TEST_F(InformerWriteThroughTest, NeverAddsGoesBackOrResurrects) {
  const nlohmann::json a = client_->upsert(domain("a"));
  start();
  const std::uint64_t v = versionNumber(a);

  EXPECT_FALSE(writeThrough(at(domain("b"), v + 1, "Running"))) << "not cached: the watch adds";
  EXPECT_FALSE(writeThrough(at(a, v, "Paused"))) << "the same version";
  EXPECT_FALSE(writeThrough(at(a, v - 1, "Paused"))) << "an older version";
  nlohmann::json opaque = a;
  opaque["metadata"]["resourceVersion"] = "not-a-number";
  opaque["status"]["state"] = "Paused";
  EXPECT_FALSE(writeThrough(opaque)) << "a version that does not compare";
  EXPECT_EQ(cachedVersion("a"), std::to_string(v));
  EXPECT_EQ(cachedVersion("b"), "(none)");
  EXPECT_EQ(mirror_.calls(), 1) << "only the first list's add";

  // Deleted (the watch saw it) before the writer's answer is handled: it stays deleted.
  ASSERT_TRUE(client_->erase("vms", "a"));
  awaitWatching();
  EXPECT_FALSE(writeThrough(at(a, v + 5, "Paused")));
  EXPECT_EQ(cachedVersion("a"), "(none)");
  EXPECT_EQ(mirror_.deletes(), 1);
  EXPECT_EQ(informer_->writesThrough(), 0U);
  EXPECT_EQ(mirror_.violations(), 0);
}

TEST_F(InformerWriteThroughTest, ARelistOlderThanAWriteThroughKeepsTheWrite) {
  const nlohmann::json a = client_->upsert(domain("a"));
  const nlohmann::json b = client_->upsert(domain("b"));
  start();
  const std::uint64_t v = client_->version();
  // The write landed (v+10) after the list below was taken (the world is still at v).
  ASSERT_TRUE(writeThrough(at(a, v + 10, "Paused")));
  const std::size_t lists = client_->listCount();
  informer_->relist();
  ASSERT_TRUE(eventually([&] { return client_->listCount() > lists; }));
  awaitWatching();
  EXPECT_EQ(cachedVersion("a"), std::to_string(v + 10));
  EXPECT_EQ(cachedVersion("b"), b["metadata"]["resourceVersion"].get<std::string>());
  EXPECT_EQ(mirror_.versions().at("vms/a"), std::to_string(v + 10));
  EXPECT_EQ(mirror_.violations(), 0);
}

// Writes through the client race their own watch events; whichever comes first, the handlers hear of
// each write exactly once and the cache ends at the server's version.
TEST_F(InformerWriteThroughTest, TheClientsWritesRaceTheirWatchEventsWithoutDoubleNotice) {
  client_->upsert(domain("a"));
  start();
  auto writer = std::make_shared<WriteThroughClient>(client_);
  writer->route(meta::Resource<crds::Domain>::type(), *informer_);
  constexpr int kWrites = 200;
  nlohmann::json object = *informer_->cache().get("vms/a");
  for (int i = 0; i < kWrites; ++i) {
    auto written = writer->update(meta::Resource<crds::Domain>::type(),
                                  at(object, 0, "state-" + std::to_string(i)), WriteOptions{});
    ASSERT_TRUE(written) << written.error().message;
    object = written.value();
  }
  awaitWatching();
  EXPECT_EQ(mirror_.updates(), kWrites);
  EXPECT_EQ(informer_->writesThrough(), informer_->eventsBehindCache())
      << "every write-through makes exactly one watch event a no-op";
  EXPECT_EQ(cachedVersion("a"), object["metadata"]["resourceVersion"].get<std::string>());
  EXPECT_EQ((*informer_->cache().get("vms/a"))["status"]["state"], "state-" + std::to_string(kWrites - 1));
  EXPECT_EQ(mirror_.violations(), 0);

  // A deletion answered with a Status writes nothing through.
  ASSERT_TRUE(writer->remove(meta::Resource<crds::Domain>::type(), "vms", "a", DeleteOptions{}));
  awaitWatching();
  EXPECT_EQ(cachedVersion("a"), "(none)");
  EXPECT_EQ(mirror_.deletes(), 1);
  EXPECT_EQ(mirror_.violations(), 0);
}

}  // namespace
}  // namespace virtsnap::kube
