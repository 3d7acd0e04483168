// The agent's caches hold only its node's: the Domains of spec.nodeName=n1, and the Snapshots and
// SnapshotReverts of those Domains, stripped of managedFields and kubectl's last-applied annotation.
// A Domain that arrives after its Snapshots brings them in (and they become Ready); a Domain that
// leaves the node takes its objects out of the caches and the agent no longer touches them.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/eventually.h"
#include "tests/support/in_process_agent.h"

namespace virtsnap {
namespace {

using kube::TypedClient;

class AgentNodeCache : public testsupport::InProcessAgentTest {
 protected:
  void createDomain(const std::string& name, const std::string& node,
                    crds::DomainDeletionPolicy policy = crds::DomainDeletionPolicy::Delete) {
    crds::Domain domain = testDomain(name);
    domain.spec.nodeName = node;
    domain.spec.deletionPolicy = policy;
    auto created = TypedClient<crds::Domain>(server_->client()).create(domain);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    if (node == "n1") {
      undefineAtEnd_.push_back("vms." + name);
    }
  }

  void createSnapshot(const std::string& name, const std::string& domainName) {
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = "vms";
    snapshot.spec.domainName = domainName;
    auto created = TypedClient<crds::Snapshot>(server_->client()).create(snapshot);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  void createRevert(const std::string& name, const std::string& domainName, const std::string& snapshotName) {
    crds::SnapshotRevert revert;
    revert.metadata.name = name;
    revert.metadata.namespaceName = "vms";
    revert.spec.domainName = domainName;
    revert.spec.snapshotName = snapshotName;
    auto created = TypedClient<crds::SnapshotRevert>(server_->client()).create(revert);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  bool snapshotReady(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
    return got && got->status && got->status->phase == crds::SnapshotPhase::Ready;
  }

  bool cached(const kube::ObjectCache& cache, const std::string& name) {
    return cache.get(kube::objectKey("vms", name)) != nullptr;
  }

  static std::vector<std::string> keys(std::vector<std::string> names) {
    for (std::string& name : names) {
      name = kube::objectKey("vms", name);
    }
    return names;
  }
};

TEST_F(AgentNodeCache, HoldsOnlyTheObjectsOfItsNodesDomainsStripped) {
  createDomain("mine", "n1");
  createDomain("theirs", "n2");
  createSnapshot("theirs-1", "theirs");
  createRevert("theirs-back", "theirs", "theirs-1");
  createSnapshot("mine-1", "mine");
  ASSERT_TRUE(testsupport::eventually([&] { return snapshotReady("mine-1"); }));
  createRevert("mine-back", "mine", "mine-1");  // after theirs-back: once cached, theirs-back was seen
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = TypedClient<crds::SnapshotRevert>(server_->client()).get("vms", "mine-back");
    return got && got->status && got->status->phase == crds::RevertPhase::Succeeded &&
           cached(manager_->revertCache(), "mine-back");
  }));

  EXPECT_EQ(manager_->domainCache().keys(), keys({"mine"}));
  EXPECT_EQ(manager_->snapshotCache().keys(), keys({"mine-1"}));
  EXPECT_EQ(manager_->revertCache().keys(), keys({"mine-back"}));
  EXPECT_EQ(manager_->snapshotCache().byIndex("byDomain", "vms/theirs").size(), 0U);

  // What the server keeps for server-side apply, the cache does not.
  auto served = server_->client()->get(meta::Resource<crds::Snapshot>::type(), "vms", "mine-1");
  ASSERT_TRUE(served.has_value());
  ASSERT_TRUE(served.value()["metadata"].contains("managedFields"));
  auto kept = manager_->snapshotCache().get("vms/mine-1");
  ASSERT_NE(kept, nullptr);
  EXPECT_FALSE(kept->at("metadata").contains("managedFields"));
  EXPECT_EQ(kept->at("status"), served.value().at("status"));

  // The other node's objects were never touched: no finalizer, no status.
  auto theirs = TypedClient<crds::Snapshot>(server_->client()).get("vms", "theirs-1");
  ASSERT_TRUE(theirs.has_value());
  EXPECT_FALSE(theirs->status.has_value());
  EXPECT_FALSE(theirs->metadata.finalizers.has_value() && !theirs->metadata.finalizers->empty());
}

TEST_F(AgentNodeCache, ADomainCreatedAfterItsSnapshotsBringsThemIn) {
  createSnapshot("late-1", "late");
  createSnapshot("late-2", "late");
  createDomain("early", "n1");
  createSnapshot("early-1", "early");  // after the late ones: once cached, they were seen and dropped
  ASSERT_TRUE(testsupport::eventually([&] { return cached(manager_->snapshotCache(), "early-1"); }));
  EXPECT_FALSE(cached(manager_->snapshotCache(), "late-1"));
  EXPECT_FALSE(cached(manager_->snapshotCache(), "late-2"));

  createDomain("late", "n1");
  ASSERT_TRUE(testsupport::eventually([&] { return snapshotReady("late-1") && snapshotReady("late-2"); }))
      << "the Domain's arrival did not bring its Snapshots in";
  EXPECT_EQ(manager_->snapshotCache().byIndex("byDomain", "vms/late").size(), 2U);
  auto listing = observer_->listSnapshots("vms.late");
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(listing->snapshots.size(), 2U);
}

TEST_F(AgentNodeCache, ADomainMovedAwayTakesItsObjectsOutOfTheCaches) {
  createDomain("mover", "n1", crds::DomainDeletionPolicy::Retain);
  createSnapshot("mover-1", "mover");
  ASSERT_TRUE(testsupport::eventually([&] { return snapshotReady("mover-1"); }));
  ASSERT_TRUE(cached(manager_->snapshotCache(), "mover-1"));

  // Moved: gone from n1 (Retain: the libvirt domain stays, unmanaged), then declared on n2.
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.remove("vms", "mover").has_value());
  ASSERT_TRUE(testsupport::eventually([&] { return !domains.get("vms", "mover").has_value(); }));
  createDomain("mover", "n2");
  ASSERT_TRUE(testsupport::eventually([&] {
    return !cached(manager_->snapshotCache(), "mover-1") && !cached(manager_->domainCache(), "mover");
  }));
  EXPECT_EQ(manager_->snapshotCache().byIndex("byDomain", "vms/mover").size(), 0U);
  EXPECT_TRUE(manager_->snapshotCache().indexValues("byDomain").empty());
  // The Snapshot itself is left as it was, for n2's agent.
  EXPECT_TRUE(snapshotReady("mover-1"));
}

}  // namespace
}  // namespace virtsnap
