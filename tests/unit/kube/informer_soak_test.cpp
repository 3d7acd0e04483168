// A long fake-clock run of the informer: thousands of watch events over a bounded set of names, with
// the stream dropped and the history compacted (410, relist) again and again. Run under LeakSanitizer
// (the ASan build), it shows that nothing leaks; the checks show that the cache stays bounded and the
// handler's world stays equal to the server's.

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "controller/kube/informer.h"
#include "crds/snapshot.h"
#include "tests/support/fake_clock.h"
#include "tests/support/scripted_api_client.h"
#include "tests/support/world_mirror.h"

namespace virtsnap::kube {
namespace {

using testsupport::eventually;
using testsupport::kubeError;

constexpr int kNames = 300;
constexpr int kRounds = 12;
constexpr int kWritesPerRound = 500;

TEST(InformerSoak, ThousandsOfEventsWithDropsAndRelistsLeakNothingAndStayBounded) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  auto client = std::make_shared<testsupport::ScriptedApiClient>();
  client->setHistoryLimit(400);  // the fake server's memory stays bounded too

  std::mutex mutex;  // guards failures
  std::vector<WatcherFailure> failures;
  InformerOptions options;
  options.watcher.type = meta::Resource<crds::Snapshot>::type();
  options.watcher.ns = "vms";
  options.watcher.pageSize = 50;
  options.resyncPeriod = std::chrono::minutes(5);
  options.transform = [](nlohmann::json&& object) -> std::optional<nlohmann::json> {
    if (object["spec"]["node"] != "node-a") {
      return std::nullopt;
    }
    object.erase("status");
    return std::move(object);
  };
  options.indexers = {{"byDomain", [](const nlohmann::json& object) {
                         return std::vector<std::string>{
                             namespacedIndexValue(object, object["spec"]["domainName"].get<std::string>())};
                       }}};
  options.onFailure = [&](const WatcherFailure& failure) {
    std::lock_guard lock(mutex);
    failures.push_back(failure);
  };
  Informer informer(client, options, clock, seededRandom(99));
  testsupport::WorldMirror mirror;
  informer.addHandler(mirror.handler());

  std::mt19937 random(4242);
  auto write = [&] {
    const std::string name = "snap-" + std::to_string(random() % kNames);
    if (random() % 10 < 3) {
      client->erase("vms", name);
      return;
    }
    client->upsert({{"kind", "Snapshot"},
                    {"metadata", {{"namespace", "vms"}, {"name", name}}},
                    {"spec",
                     {{"node", random() % 5 == 0 ? "node-b" : "node-a"},
                      {"domainName", "dom-" + std::to_string(random() % 20)}}},
                    {"status", {{"phase", "Ready"}, {"padding", std::string(64, 'p')}}}});
  };
  auto failureCount = [&] {
    std::lock_guard lock(mutex);
    return failures.size();
  };
  // What the test was waiting on, for a wait that runs out (seen twice under heavy parallel load).
  auto progress = [&] {
    std::lock_guard lock(mutex);
    std::string text = "failures " + std::to_string(failures.size()) + ", clock waiters " +
                       std::to_string(clock->waiting()) + ", open streams " +
                       std::to_string(client->openStreams()) + ", idle streams " +
                       std::to_string(client->idleStreams());
    if (!failures.empty()) {
      text +=
          ", last failure: " + failures.back().error.describe() + (failures.back().relist ? " (relist)" : "");
    }
    return text;
  };
  // The watcher sleeps in its backoff after failure `count` (the resync thread sleeps too): move on.
  auto passBackoff = [&](std::size_t count) {
    ASSERT_TRUE(eventually([&] { return failureCount() >= count && clock->waiting() == 2; }))
        << "waiting for failure " << count << ": " << progress();
    std::lock_guard lock(mutex);
    clock->advance(failures[count - 1].retryIn);
  };
  auto serverState = [&] {
    std::map<std::string, std::string> state;
    for (const auto& [key, object] : client->objects()) {
      if (object["spec"]["node"] == "node-a") {
        state[key] = object["metadata"]["resourceVersion"].get<std::string>();
      }
    }
    return state;
  };

  for (int i = 0; i < kWritesPerRound; ++i) {
    write();
  }
  informer.start();
  ASSERT_TRUE(informer.waitForSync(clock->now() + std::chrono::hours(1)));
  // Synced means listed; the watch opens just after. Writing more than the fake server's history (400)
  // before it does would make its first watch a 410 and a relist waiting on a clock nobody moves.
  ASSERT_TRUE(eventually([&] { return client->idleStreams() == 1; })) << progress();

  const std::uint64_t firstVersion = client->version();
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kWritesPerRound; ++i) {
      write();
    }
    ASSERT_TRUE(eventually([&] { return client->idleStreams() == 1; }))
        << "round " << round << ": " << progress();
    ASSERT_EQ(mirror.versions(), serverState()) << "round " << round;

    const std::size_t before = failureCount();
    client->breakStreams(kubeError(ErrorKind::Network, 0, "connection reset"));
    ASSERT_TRUE(eventually([&] { return failureCount() == before + 1; })) << progress();
    for (int i = 0; i < 40; ++i) {
      write();  // while the watch is down
    }
    if (round % 3 == 2) {
      client->compact();  // the resume is answered 410: a relist
      passBackoff(before + 1);
      passBackoff(before + 2);
    } else {
      passBackoff(before + 1);
    }
    ASSERT_TRUE(eventually([&] { return client->idleStreams() == 1; }))
        << "round " << round << ": " << progress();
    ASSERT_EQ(mirror.versions(), serverState()) << "round " << round;
    ASSERT_LE(informer.cache().size(), static_cast<std::size_t>(kNames));
    ASSERT_LE(informer.cache().indexValues("byDomain").size(), 20U);
  }
  const std::uint64_t events = client->version() - firstVersion;
  RecordProperty("watchEvents", static_cast<int>(events));
  RecordProperty("handlerCalls", static_cast<int>(mirror.calls()));
  EXPECT_GE(events, 5000U);
  EXPECT_EQ(mirror.violations(), 0);
  EXPECT_EQ(informer.handlerExceptions(), 0U);
  const auto lists = client->listCalls();
  EXPECT_EQ(std::count_if(lists.begin(), lists.end(),
                          [](const ListOptions& list) { return list.continueToken.empty(); }),
            1 + kRounds / 3)
      << "one full (paged) list at the start and one per 410";
  informer.stop();
  EXPECT_EQ(client->openStreams(), 0U);
}

}  // namespace
}  // namespace virtsnap::kube
