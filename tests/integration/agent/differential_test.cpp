// The agent against libvirt's test driver in this process, differentially: hundreds of random creates,
// reverts and deletes issued as objects (seeded; the seed and the step are printed on failure), and
// after each one the tree in the Domain's status, the tree libvirt reports on its own connection, the
// tree model fed the same operations, and every Snapshot's status agree.

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controller/agent/agent_manager.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/eventually.h"
#include "tests/support/in_process_agent.h"
#include "tests/support/tree_lines.h"

namespace virtsnap {
namespace {

using kube::TypedClient;

using testsupport::joined;
using testsupport::treeLines;

class AgentDifferential : public testsupport::InProcessAgentTest {
 protected:
  // Each of the 200 steps waits for the Domain's status tree: written as soon as the tree settles
  // (the tree-status delay would add its 3 s to every step; api_writes_test.cpp tests the delay).
  agent::AgentManagerOptions agentOptions() override {
    agent::AgentManagerOptions options = InProcessAgentTest::agentOptions();
    options.settings.treeStatusDelay = std::chrono::nanoseconds(0);
    return options;
  }

  void TearDown() override {
    undefineAtEnd_.push_back(domainName_);
    InProcessAgentTest::TearDown();
  }

  std::optional<crds::Domain> domain() { return InProcessAgentTest::domain("web"); }

  // Empty when the Domain's status, libvirt and every Snapshot agree with the model; else what differs.
  std::string disagreement(const drivers::SnapshotTree& model) {
    const std::vector<std::string> expected = treeLines(model);
    auto web = domain();
    if (!web || !web->status) {
      return "no Domain status";
    }
    if (treeLines(*web->status) != expected) {
      return "Domain status " + joined(treeLines(*web->status)) + "!= model " + joined(expected);
    }
    auto listing = observer_->listSnapshots(domainName_);
    if (!listing) {
      return "libvirt: " + listing.error().message;
    }
    std::vector<drivers::SnapshotRecord> records;
    for (const auto& definition : listing->snapshots) {
      records.push_back(definition.record());
    }
    drivers::SnapshotTree libvirtTree;
    libvirtTree.rebuild(records, listing->current);
    if (treeLines(libvirtTree) != expected) {
      return "libvirt " + joined(treeLines(libvirtTree)) + "!= model " + joined(expected);
    }
    auto snapshots = TypedClient<crds::Snapshot>(server_->client()).list("vms");
    if (!snapshots) {
      return snapshots.error().message;
    }
    if (snapshots->items.size() != model.size()) {
      return std::to_string(snapshots->items.size()) + " Snapshot objects for " +
             std::to_string(model.size()) + " snapshots";
    }
    for (const auto& snapshot : snapshots->items) {
      const std::string name = snapshot.metadata.name.value_or("");
      if (!model.contains(name) || !snapshot.status || snapshot.status->phase != crds::SnapshotPhase::Ready) {
        return "Snapshot " + name + " is not Ready or not in the tree";
      }
      if (snapshot.status->parent != model.parentOf(name) ||
          snapshot.status->current.value_or(false) != (model.current() == name) ||
          snapshot.status->children.value_or(std::vector<std::string>{}) != model.childrenOf(name)) {
        return "Snapshot " + name + "'s status disagrees with the tree";
      }
    }
    return {};
  }

  const std::string domainName_ = "vms.web";
};

TEST_F(AgentDifferential, RandomCreatesRevertsAndDeletesKeepEveryTreeEqual) {
  const char* seedText = std::getenv("VIRTSNAP_SEED");
  const std::uint64_t seed = seedText ? std::strtoull(seedText, nullptr, 10) : 20261206;
  const int steps = 200;
  std::mt19937_64 random(seed);

  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(testDomain("web")).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain();
    return got && got->status && got->status->hypervisor.has_value();
  })) << "the Domain never got defined";

  drivers::SnapshotTree model;
  TypedClient<crds::Snapshot> snapshots(server_->client());
  TypedClient<crds::SnapshotRevert> reverts(server_->client());
  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (VIRTSNAP_SEED), step " + std::to_string(step));
    const auto existing = treeLines(model);
    const int dice = static_cast<int>(random() % 4);
    std::string operation;
    if (model.empty() || dice < 2) {
      const std::string name = "s" + std::to_string(step);
      crds::Snapshot snapshot;
      snapshot.metadata.name = name;
      snapshot.metadata.namespaceName = "vms";
      snapshot.spec.domainName = "web";
      auto created = snapshots.create(snapshot);
      ASSERT_TRUE(created.has_value()) << created.error().message;
      ASSERT_TRUE(
          model.create(drivers::SnapshotRecord{name, std::nullopt, drivers::SnapshotLocation::Internal}));
      operation = "create " + name;
    } else {
      auto order = model.topologicalOrder();
      const std::string target = order[random() % order.size()].name;
      if (dice == 2) {
        crds::SnapshotRevert revert;
        revert.metadata.name = "r" + std::to_string(step);
        revert.metadata.namespaceName = "vms";
        revert.spec.domainName = "web";
        revert.spec.snapshotName = target;
        auto created = reverts.create(revert);
        ASSERT_TRUE(created.has_value()) << created.error().message;
        ASSERT_FALSE(model.revert(target));
        operation = "revert to " + target;
        ASSERT_TRUE(testsupport::eventually([&] {
          auto got = reverts.get("vms", revert.metadata.name.value_or(""));
          return got && got->status && got->status->phase == crds::RevertPhase::Succeeded;
        })) << operation;
      } else {
        auto removed = snapshots.remove("vms", target);
        ASSERT_TRUE(removed.has_value()) << removed.error().message;
        ASSERT_TRUE(model.remove(target, drivers::DeleteOptions{}));
        operation = "delete " + target;
      }
    }
    std::string last;
    const bool agreed = testsupport::eventually(
        [&] {
          last = disagreement(model);
          return last.empty();
        },
        std::chrono::seconds(30));
    ASSERT_TRUE(agreed) << "after " << operation << " on " << joined(existing) << ": " << last;
  }
}

}  // namespace
}  // namespace virtsnap
