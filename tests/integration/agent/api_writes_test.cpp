// What the agent costs the API server, counted on the server (apiserver::WriteCounter): a converged
// system makes no write at all over several resync periods, and taking snapshots costs a bounded
// number of writes each. Leases are the agent's heartbeat and are counted apart from object writes.
// Also metadata recovery with one corrupted definition: nothing half-restored, the Domain Stalled
// naming the snapshot and libvirt's error, no retry loop, and the whole tree back once it is fixed.

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crds/meta/resource_type.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "reconcilers/conditions.h"
#include "tests/support/eventually.h"
#include "tests/support/in_process_agent.h"

namespace virtsnap {
namespace {

using apiserver::WriteCounts;
using kube::TypedClient;
using ::testing::HasSubstr;

constexpr auto kResync = std::chrono::seconds(1);

// Writes by "verb resource[/subresource] code", leases left out.
std::map<std::string, std::uint64_t> objectWrites(const WriteCounts& counts) {
  std::map<std::string, std::uint64_t> writes;
  for (const auto& [key, count] : counts) {
    if (key.resource == "leases") {
      continue;
    }
    writes[key.verb + " " + key.resource + (key.subresource.empty() ? "" : "/" + key.subresource) + " " +
           std::to_string(key.code)] += count;
  }
  return writes;
}

// `after` minus `before`, entries that did not change left out.
std::map<std::string, std::uint64_t> difference(const std::map<std::string, std::uint64_t>& before,
                                                const std::map<std::string, std::uint64_t>& after) {
  std::map<std::string, std::uint64_t> added;
  for (const auto& [key, count] : after) {
    const auto it = before.find(key);
    const std::uint64_t was = it == before.end() ? 0 : it->second;
    if (count != was) {
      added[key] = count - was;
    }
  }
  return added;
}

std::uint64_t total(const std::map<std::string, std::uint64_t>& writes) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : writes) {
    sum += count;
  }
  return sum;
}

std::string describe(const std::map<std::string, std::uint64_t>& writes) {
  std::string text;
  for (const auto& [key, count] : writes) {
    text += "  " + key + ": " + std::to_string(count) + "\n";
  }
  return text.empty() ? "  (none)\n" : text;
}

class AgentApiWrites : public testsupport::InProcessAgentTest {
 protected:
  agent::AgentManagerOptions agentOptions() override {
    agent::AgentManagerOptions options = InProcessAgentTest::agentOptions();
    options.resyncPeriod = kResync;
    return options;
  }

  std::map<std::string, std::uint64_t> writes() { return objectWrites(server_->handler().writes().counts()); }

  // Waits until no object write happened for `window` (the agent and its event recorder are idle).
  bool awaitQuiet(std::chrono::milliseconds window, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    auto last = writes();
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto now = writes();
      if (now != last) {
        last = std::move(now);
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since >= window) {
        return true;
      }
    }
    return false;
  }

  // The reconciles the running agent's controller `name` made so far, whatever their result.
  double reconciles(const std::string& name) {
    double sum = 0;
    for (const auto& family : registry_->Collect()) {
      if (family.name != "controller_runtime_reconcile_total") {
        continue;
      }
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.name == "controller" && label.value == name) {
            sum += metric.counter.value;
          }
        }
      }
    }
    return sum;
  }

  void createDomain(const std::string& name) {
    ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(testDomain(name)).has_value());
    undefineAtEnd_.push_back("vms." + name);
  }

  // createDomain(), then waits until the Domain is Ready.
  void createReadyDomain(const std::string& name) {
    ASSERT_NO_FATAL_FAILURE(createDomain(name));
    ASSERT_TRUE(testsupport::eventually([&] {
      auto got = domain(name);
      return got &&
             reconcilers::isConditionTrue(got->status ? got->status->conditions : std::nullopt, "Ready");
    })) << name;
  }

  void createSnapshot(const std::string& name, const std::string& domainName) {
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = "vms";
    snapshot.spec.domainName = domainName;
    auto created = TypedClient<crds::Snapshot>(server_->client()).create(snapshot);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  void revert(const std::string& name, const std::string& domainName, const std::string& snapshotName) {
    TypedClient<crds::SnapshotRevert> reverts(server_->client());
    crds::SnapshotRevert object;
    object.metadata.name = name;
    object.metadata.namespaceName = "vms";
    object.spec.domainName = domainName;
    object.spec.snapshotName = snapshotName;
    ASSERT_TRUE(reverts.create(object).has_value());
    ASSERT_TRUE(testsupport::eventually([&] {
      auto got = reverts.get("vms", name);
      return got && got->status && got->status->phase == crds::RevertPhase::Succeeded;
    }));
  }

  bool snapshotReady(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
    return got && got->status && got->status->phase == crds::SnapshotPhase::Ready &&
           reconcilers::isConditionTrue(got->status->conditions, "Ready");
  }

  // The Domain's status.snapshotTree as "name<parent>" lines, current marked with '*'.
  std::vector<std::string> statusTree(const std::string& domainName) {
    std::vector<std::string> lines;
    auto got = domain(domainName);
    if (got && got->status && got->status->snapshotTree) {
      for (const auto& entry : *got->status->snapshotTree) {
        lines.push_back(entry.name + "<" + entry.parent.value_or("") + ">" +
                        (entry.current.value_or(false) ? "*" : ""));
      }
    }
    return lines;
  }

  // libvirt's own tree of `hypervisorName`, in the same form (in libvirt's listing order).
  std::vector<std::string> libvirtTree(const std::string& hypervisorName) {
    std::vector<std::string> lines;
    auto listing = observer_->listSnapshots(hypervisorName);
    if (!listing) {
      return {"<" + listing.error().message + ">"};
    }
    for (const auto& snapshot : listing->snapshots) {
      lines.push_back(snapshot.name + "<" + snapshot.parent.value_or("") + ">" +
                      (listing->current == snapshot.name ? "*" : ""));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }
};

TEST_F(AgentApiWrites, SeveralResyncPeriodsOverAConvergedSystemMakeNoWrite) {
  createDomain("quiet");
  for (const char* name : {"s1", "s2", "s3", "s4"}) {
    createSnapshot(name, "quiet");
  }
  ASSERT_TRUE(testsupport::eventually([&] {
    return snapshotReady("s1") && snapshotReady("s2") && snapshotReady("s3") && snapshotReady("s4");
  }));
  revert("back-to-s2", "quiet", "s2");
  ASSERT_TRUE(testsupport::eventually([&] {
    return statusTree("quiet") == std::vector<std::string>{"s1<>", "s2<s1>*", "s3<s2>", "s4<s3>"};
  })) << ::testing::PrintToString(statusTree("quiet"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));

  constexpr int kPeriods = 4;
  const auto before = writes();
  const double snapshotReconciles = reconciles("snapshot");
  const double domainReconciles = reconciles("domain");
  const double revertReconciles = reconciles("snapshotrevert");
  // Watching for nothing to happen: only time shows it.
  std::this_thread::sleep_for(kPeriods * kResync + std::chrono::milliseconds(300));
  const auto during = difference(before, writes());
  std::cout << "API writes during " << kPeriods << " resync periods of " << kResync.count()
            << " s (poll 500 ms), leases left out:\n"
            << describe(during);
  EXPECT_EQ(total(during), 0U) << describe(during);
  // The periods did resync every object (so the zero above is about reconciles that ran).
  EXPECT_GE(reconciles("snapshot") - snapshotReconciles, 4.0 * (kPeriods - 1));
  EXPECT_GE(reconciles("snapshotrevert") - revertReconciles, 1.0 * (kPeriods - 1));
  EXPECT_GE(reconciles("domain") - domainReconciles, 1.0 * (kPeriods - 1));
  EXPECT_THAT(libvirtTree("vms.quiet"), ::testing::ElementsAre("s1<>", "s2<s1>*", "s3<s2>", "s4<s3>"));
}

TEST_F(AgentApiWrites, TwentySnapshotsCostAtMostFourWritesEach) {
  constexpr int kSnapshots = 20;
  ASSERT_NO_FATAL_FAILURE(createReadyDomain("busy"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  const auto before = writes();
  for (int i = 0; i < kSnapshots; ++i) {
    createSnapshot("snap-" + std::to_string(100 + i), "busy");
  }
  ASSERT_TRUE(testsupport::eventually([&] {
    for (int i = 0; i < kSnapshots; ++i) {
      if (!snapshotReady("snap-" + std::to_string(100 + i))) {
        return false;
      }
    }
    return statusTree("busy").size() == kSnapshots;
  }));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));
  auto added = difference(before, writes());
  // The test's own creates are not the agent's.
  ASSERT_EQ(added["create snapshots 201"], static_cast<std::uint64_t>(kSnapshots)) << describe(added);
  added.erase("create snapshots 201");
  const std::uint64_t agentWrites = total(added);
  std::cout << "API writes of the agent for " << kSnapshots << " snapshots applied at once (leases left out, "
            << "events included): " << agentWrites << ", " << static_cast<double>(agentWrites) / kSnapshots
            << " per snapshot\n"
            << describe(added);
  EXPECT_LE(agentWrites, 4U * kSnapshots) << describe(added);
  for (const auto& [key, count] : added) {
    EXPECT_THAT(key, ::testing::Not(::testing::EndsWith(" 409")))
        << "a write conflicted: " << describe(added);
  }
  EXPECT_EQ(libvirtTree("vms.busy").size(), static_cast<std::size_t>(kSnapshots));

  // One more, alone: nothing to share the Domain's write with, and its parent's status changes too.
  const auto beforeOne = writes();
  createSnapshot("alone", "busy");
  ASSERT_TRUE(testsupport::eventually(
      [&] { return snapshotReady("alone") && statusTree("busy").size() == kSnapshots + 1; }));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  auto one = difference(beforeOne, writes());
  one.erase("create snapshots 201");
  std::cout << "API writes of the agent for one snapshot taken alone: " << total(one) << "\n"
            << describe(one);
  // Its finalizer, its status, its parent's status, its Event, the Domain's status.
  EXPECT_LE(total(one), 5U) << describe(one);
}

// The Domain's tree status is written once the tree settles (--tree-status-delay), and at the latest
// --tree-status-max-delay after it fell behind (reconcilers/tree_status_debounce.h).
template <int kDelaySeconds, int kMaxDelayMs, int kPollSeconds = 0>
class AgentTreeStatusTiming : public AgentApiWrites {
 protected:
  static constexpr auto kDelay = std::chrono::seconds(kDelaySeconds);
  static constexpr auto kMaxDelay = std::chrono::milliseconds(kMaxDelayMs);

  agent::AgentManagerOptions agentOptions() override {
    agent::AgentManagerOptions options = AgentApiWrites::agentOptions();
    options.settings.treeStatusDelay = kDelay;
    options.settings.treeStatusMaxDelay = kMaxDelay;
    if (kPollSeconds > 0) {  // neither the poll nor a resync looks at the Domain meanwhile
      options.settings.pollPeriod = std::chrono::seconds(kPollSeconds);
      options.resyncPeriod = std::chrono::seconds(kPollSeconds);
    }
    return options;
  }

  std::uint64_t domainStatusWrites() { return writes()["update domains/status 200"]; }

  // Creates Snapshot `name` of Domain `domainName` and waits until it is Ready: the domain drains.
  void takeAlone(const std::string& name, const std::string& domainName) {
    createSnapshot(name, domainName);
    ASSERT_TRUE(testsupport::eventually([&] { return snapshotReady(name); })) << name;
  }
};

// A 3 s quiet time, a 60 s bound: longer than the test.
using AgentTreeStatusDebounce = AgentTreeStatusTiming<3, 60000>;

TEST_F(AgentTreeStatusDebounce, ABurstSpreadOverTimeCostsOneDomainStatusWrite) {
  constexpr int kSnapshots = 10;
  ASSERT_NO_FATAL_FAILURE(createReadyDomain("paced"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  const auto before = writes();
  // One at a time, each Ready and its drain reconciled by the Domain before the next is created:
  // every snapshot ends a drain of the domain's operations, which without the quiet time cost a
  // Domain status write each.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSnapshots; ++i) {
    ASSERT_NO_FATAL_FAILURE(takeAlone("p" + std::to_string(i), "paced"));
    const double domainReconciles = reconciles("domain");  // its poll, or the deferred tree's requeue
    ASSERT_TRUE(testsupport::eventually([&] { return reconciles("domain") > domainReconciles; }));
  }
  const double burstSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> expected;
  for (int i = 0; i < kSnapshots; ++i) {
    expected.push_back("p" + std::to_string(i) + "<" + (i == 0 ? "" : "p" + std::to_string(i - 1)) + ">" +
                       (i + 1 == kSnapshots ? "*" : ""));
  }
  ASSERT_TRUE(testsupport::eventually([&] { return statusTree("paced") == expected; }))
      << ::testing::PrintToString(statusTree("paced"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  auto added = difference(before, writes());
  std::cout << kSnapshots << " snapshots taken one after another in " << burstSeconds
            << " s (each Ready before the next); the agent's writes:\n"
            << describe(added);
  EXPECT_EQ(added["update domains/status 200"], 1U) << describe(added);
  added.erase("create snapshots 201");
  EXPECT_LE(total(added), 4U * kSnapshots) << describe(added);
  EXPECT_THAT(libvirtTree("vms.paced"), ::testing::UnorderedElementsAreArray(expected));
}

// A 1 s quiet time and a poll and resync (60 s) longer than the test: the tree reaches the Domain's
// status only because the agent looks at the Domain a quiet time after its last operation
// (agent_manager.cpp), with one write each. (That this look writes at once, the view dating the
// change, rather than after another quiet time, is timing: tree_status_debounce_test.cpp checks it
// on a fake clock.)
using AgentTreeStatusAfterTheLastOperation = AgentTreeStatusTiming<1, 60000, 60>;

TEST_F(AgentTreeStatusAfterTheLastOperation, EachCreateAndDeletionIsInTheTreeOneQuietTimeLaterWithOneWrite) {
  ASSERT_NO_FATAL_FAILURE(createReadyDomain("lone"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  TypedClient<crds::Snapshot> snapshots(server_->client());
  const auto writesSince = [&](std::uint64_t before) { return domainStatusWrites() - before; };
  const auto shows = [&](const std::vector<std::string>& tree) {
    return testsupport::eventually([&] { return statusTree("lone") == tree; }, std::chrono::seconds(8));
  };

  std::uint64_t before = domainStatusWrites();
  ASSERT_NO_FATAL_FAILURE(takeAlone("only", "lone"));
  ASSERT_TRUE(shows({"only<>*"})) << ::testing::PrintToString(statusTree("lone"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));
  EXPECT_EQ(writesSince(before), 1U);

  ASSERT_NO_FATAL_FAILURE(takeAlone("second", "lone"));
  ASSERT_TRUE(shows({"only<>", "second<only>*"})) << ::testing::PrintToString(statusTree("lone"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));

  before = domainStatusWrites();
  ASSERT_TRUE(snapshots.remove("vms", "second").has_value());
  ASSERT_TRUE(shows({"only<>*"})) << ::testing::PrintToString(statusTree("lone"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));
  EXPECT_EQ(writesSince(before), 1U);

  // Retained: libvirt keeps it, now unmanaged; the view's tree did not move.
  auto retained = snapshots.get("vms", "only");
  ASSERT_TRUE(retained.has_value());
  retained->spec.deletionPolicy = crds::SnapshotDeletionPolicy::Retain;
  ASSERT_TRUE(snapshots.update(*retained).has_value());
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));
  before = domainStatusWrites();
  ASSERT_TRUE(snapshots.remove("vms", "only").has_value());
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        auto got = domain("lone");
        return got && got->status && got->status->unmanagedSnapshots == std::vector<std::string>{"only"};
      },
      std::chrono::seconds(8)));
  EXPECT_EQ(libvirtTree("vms.lone"), std::vector<std::string>{"only<>*"});
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1500)));
  EXPECT_EQ(writesSince(before), 1U);
}

// A quiet time longer than the test, a 1 s bound: only the bound writes the tree.
using AgentTreeStatusLagBound = AgentTreeStatusTiming<60, 1000>;

TEST_F(AgentTreeStatusLagBound, ATreeThatNeverSettlesIsStillWrittenWhileItChanges) {
  ASSERT_NO_FATAL_FAILURE(createReadyDomain("trickle"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));
  const std::uint64_t before = domainStatusWrites();
  // Snapshots one after another for 4 s (at most 1000): the tree never stays the same for the quiet time.
  const auto start = std::chrono::steady_clock::now();
  int taken = 0;
  std::vector<std::size_t> seenCounts;  // the Domain's snapshotCount after each snapshot
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(4) && taken < 1000) {
    ASSERT_NO_FATAL_FAILURE(takeAlone("t" + std::to_string(taken), "trickle"));
    ++taken;
    seenCounts.push_back(statusTree("trickle").size());
  }
  const std::uint64_t duringTrickle = domainStatusWrites() - before;
  std::cout << taken << " snapshots in 4 s; Domain status writes meanwhile: " << duringTrickle
            << "; the Domain's snapshotCount after the last: " << seenCounts.back() << "\n";
  // Written while the tree kept changing (about every second), not only once it settled.
  EXPECT_GE(duringTrickle, 2U);
  EXPECT_GT(seenCounts.back(), 0U);
  // And within the bound after the last change, not the 60 s quiet time.
  ASSERT_TRUE(
      testsupport::eventually([&] { return statusTree("trickle").size() == static_cast<std::size_t>(taken); },
                              std::chrono::seconds(10)))
      << ::testing::PrintToString(statusTree("trickle"));
  EXPECT_EQ(statusTree("trickle").size(), libvirtTree("vms.trickle").size());
}

// A burst with write-through (informer.h): each Snapshot's Ready status, entering the cache as the
// server answers it, lets the next one run before its watch event. The order is still
// (creationTimestamp, name), each is taken exactly once, and none waited on a Conflict. (Created in
// name order, as `kubectl apply` of a folder does: one created later with a smaller name in the same
// second may already find an earlier one taken, since the agent orders only what it has seen.)
TEST_F(AgentApiWrites, ABurstRunsInCreationOrderAndTakesEachSnapshotOnce) {
  constexpr int kSnapshots = 30;
  ASSERT_NO_FATAL_FAILURE(createReadyDomain("burst"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(500)));
  std::vector<std::string> names;
  for (int i = 0; i < kSnapshots; ++i) {
    names.push_back("b" + std::to_string(10 + i));
  }
  const auto before = writes();
  for (const std::string& name : names) {
    createSnapshot(name, "burst");
  }
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        return std::all_of(names.begin(), names.end(),
                           [&](const std::string& name) { return snapshotReady(name); });
      },
      std::chrono::seconds(60)));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));

  // The order the agent had to follow, from what the server stamped.
  std::vector<std::pair<std::string, std::string>> order;  // (creationTimestamp, name)
  for (const std::string& name : names) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
    ASSERT_TRUE(got.has_value());
    order.emplace_back(got->metadata.creationTimestamp.value_or(""), name);
  }
  std::sort(order.begin(), order.end());
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < order.size(); ++i) {
    expected.push_back(order[i].second + "<" + (i == 0 ? std::string() : order[i - 1].second) + ">" +
                       (i + 1 == order.size() ? "*" : ""));
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(libvirtTree("vms.burst"), expected) << "a chain in (creationTimestamp, name) order, each once";
  // The Domain's tree is written once it has settled (--tree-status-delay, 3 s by default).
  ASSERT_TRUE(testsupport::eventually(
      [&] { return statusTree("burst").size() == static_cast<std::size_t>(kSnapshots); },
      std::chrono::seconds(15)))
      << ::testing::PrintToString(statusTree("burst"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(1000)));

  auto added = difference(before, writes());
  EXPECT_EQ(added["create snapshots 201"], static_cast<std::uint64_t>(kSnapshots)) << describe(added);
  added.erase("create snapshots 201");
  EXPECT_LE(total(added), 4U * kSnapshots) << describe(added);
  for (const auto& [key, count] : added) {
    EXPECT_THAT(key, ::testing::Not(::testing::EndsWith(" 409")))
        << "a write conflicted: " << describe(added);
  }
}

// Recovery runs on the default resync period (10 min) and a 2 s poll: within a test, a second try of
// the same definitions can only come from a loop.
class AgentRecovery : public AgentApiWrites {
 protected:
  agent::AgentManagerOptions agentOptions() override {
    agent::AgentManagerOptions options = InProcessAgentTest::agentOptions();
    options.settings.pollPeriod = std::chrono::seconds(2);  // a failed recovery is retried after 20 s
    return options;
  }

  // How many times the agent reported a failed tree recovery of Domain `name` (Events' count).
  int recoveryFailures(const std::string& name) {
    auto events = server_->client()->list(meta::resources::events(), "vms", kube::ListOptions{});
    int count = 0;
    if (events) {
      for (const auto& event : events.value().value("items", nlohmann::json::array())) {
        if (event.value("reason", "") == "TreeRecoveryFailed" &&
            event["involvedObject"].value("name", "") == name) {
          count += event.value("count", 1);
        }
      }
    }
    return count;
  }

  const meta::Condition* condition(const std::string& domainName, const std::string& type) {
    auto got = domain(domainName);
    conditions_ = got && got->status ? got->status->conditions : std::nullopt;
    return reconcilers::findCondition(conditions_, type);
  }

  std::optional<std::vector<meta::Condition>> conditions_;
};

TEST_F(AgentRecovery, OneCorruptedDefinitionLeavesNothingHalfRestoredUntilItIsFixed) {
  createDomain("db");
  for (const char* name : {"a", "b", "c"}) {
    createSnapshot(name, "db");
  }
  ASSERT_TRUE(testsupport::eventually(
      [&] { return snapshotReady("a") && snapshotReady("b") && snapshotReady("c"); }));
  revert("to-b", "db", "b");
  const std::vector<std::string> tree{"a<>", "b<a>*", "c<b>"};
  ASSERT_TRUE(testsupport::eventually([&] { return statusTree("db") == tree; }))
      << ::testing::PrintToString(statusTree("db"));
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(500)));
  TypedClient<crds::Snapshot> snapshots(server_->client());
  auto b = snapshots.get("vms", "b");
  ASSERT_TRUE(b.has_value() && b->status && b->status->definition);
  const std::string good = *b->status->definition;

  // The agent stops; libvirt loses the domain with its snapshot metadata; b's recorded definition is
  // corrupted through /status. The agent starts again.
  stopManager();
  ASSERT_FALSE(observer_->destroy("vms.db").has_value());
  ASSERT_FALSE(observer_->undefine("vms.db", drivers::UndefineOptions{}).has_value());
  b->status->definition = "<domainsnapshot><name>b</name><parent><name>a</name></parent";
  ASSERT_TRUE(snapshots.updateStatus(b.value()).has_value());
  startManager();

  ASSERT_TRUE(testsupport::eventually([&] {
    const meta::Condition* stalled = condition("db", "Stalled");
    return stalled && stalled->reason == "TreeRecoveryFailed";
  })) << ::testing::PrintToString(libvirtTree("vms.db"));
  const std::string message = condition("db", "Stalled")->message;
  std::cout << "Stalled: " << message << "\n";
  EXPECT_THAT(message, HasSubstr("snapshot 'b'"));
  EXPECT_THAT(message, HasSubstr("expected '>'"));  // libvirt's own words about the definition
  EXPECT_FALSE(reconcilers::isConditionTrue(conditions_, "Ready"));
  // The domain is back (with its UUID), its tree empty: a, redefined before b failed, was removed.
  EXPECT_TRUE(observer_->lookupDomain("vms.db").has_value());
  EXPECT_TRUE(libvirtTree("vms.db").empty()) << ::testing::PrintToString(libvirtTree("vms.db"));
  ASSERT_TRUE(testsupport::eventually([&] { return recoveryFailures("db") >= 1; }));

  // No loop: once settled, nothing is retried and nothing written until something changes.
  ASSERT_TRUE(awaitQuiet(std::chrono::milliseconds(500), std::chrono::seconds(20))) << describe(writes());
  const int attempts = recoveryFailures("db");
  const auto before = writes();
  const double domainReconciles = reconciles("domain");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // watching for nothing to happen
  const auto during = difference(before, writes());
  std::cout << "recovery attempts before settling: " << attempts << "; API writes in the 3 s after:\n"
            << describe(during);
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(total(during), 0U) << describe(during);
  EXPECT_EQ(reconciles("domain"), domainReconciles);
  EXPECT_EQ(recoveryFailures("db"), attempts);
  EXPECT_TRUE(libvirtTree("vms.db").empty());

  // b's definition restored: the next attempt brings the whole tree back, current included.
  b = snapshots.get("vms", "b");
  ASSERT_TRUE(b.has_value() && b->status);
  b->status->definition = good;
  ASSERT_TRUE(snapshots.updateStatus(b.value()).has_value());
  ASSERT_TRUE(testsupport::eventually([&] { return libvirtTree("vms.db") == tree; }))
      << ::testing::PrintToString(libvirtTree("vms.db"));
  ASSERT_TRUE(testsupport::eventually([&] {
    return condition("db", "Stalled") == nullptr && reconcilers::isConditionTrue(conditions_, "Ready") &&
           statusTree("db") == tree;
  })) << ::testing::PrintToString(statusTree("db"));
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_TRUE(snapshotReady(name)) << name;
  }
}

}  // namespace
}  // namespace virtsnap
