// The order of one domain's creates and reverts (reconcilers/operation_order.h).
#include "reconcilers/operation_order.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "reconcilers/agent_context.h"

namespace virtsnap::reconcilers {
namespace {

using nlohmann::json;

kube::ObjectPtr object(const std::string& name, const std::string& created, const std::string& phase = "",
                       bool deleting = false) {
  json value = {{"metadata", {{"name", name}, {"namespace", "vms"}, {"creationTimestamp", created}}},
                {"spec", {{"domainName", "web"}}}};
  if (!phase.empty()) {
    value["status"]["phase"] = phase;
  }
  if (deleting) {
    value["metadata"]["deletionTimestamp"] = created;
  }
  return std::make_shared<const json>(std::move(value));
}

TEST(OperationOrder, NothingWaitsWhenEverythingIsDone) {
  EXPECT_EQ(nextOperation({object("a", "2026-01-01T00:00:00Z", "Ready")},
                          {object("r", "2026-01-01T00:00:01Z", "Succeeded")}),
            std::nullopt);
  EXPECT_EQ(nextOperation({}, {}), std::nullopt);
}

TEST(OperationOrder, TheOldestGoesFirstAndTiesGoByName) {
  auto next = nextOperation({object("b", "2026-01-01T00:00:00Z"), object("a", "2026-01-01T00:00:00Z"),
                             object("0-late", "2026-01-01T00:00:05Z")},
                            {});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->name, "a");
  EXPECT_EQ(next->kind, PendingOperation::Kind::Snapshot);
}

TEST(OperationOrder, RevertsJoinTheSameQueue) {
  auto next = nextOperation({object("s", "2026-01-01T00:00:02Z")}, {object("r", "2026-01-01T00:00:01Z")});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->name, "r");
  EXPECT_EQ(next->kind, PendingOperation::Kind::Revert);
}

TEST(OperationOrder, ARunningRevertStillHoldsTheQueueAndAFailedOneDoesNot) {
  EXPECT_EQ(
      nextOperation({object("s", "2026-01-01T00:00:02Z")}, {object("r", "2026-01-01T00:00:01Z", "Running")})
          ->name,
      "r");
  EXPECT_EQ(
      nextOperation({object("s", "2026-01-01T00:00:02Z")}, {object("r", "2026-01-01T00:00:01Z", "Failed")})
          ->name,
      "s");
}

TEST(OperationOrder, SnapshotsBeingDeletedOrFinishedDoNotWait) {
  EXPECT_FALSE(snapshotPending(*object("a", "2026-01-01T00:00:00Z", "", true)));
  EXPECT_FALSE(snapshotPending(*object("a", "2026-01-01T00:00:00Z", "Failed")));
  EXPECT_FALSE(snapshotPending(*object("a", "2026-01-01T00:00:00Z", "Lost")));
  EXPECT_TRUE(snapshotPending(*object("a", "2026-01-01T00:00:00Z", "Pending")));
  EXPECT_TRUE(snapshotPending(*object("a", "2026-01-01T00:00:00Z")));
}

// From the agent's caches: the pending index ordered by operationOrderKey gives the same answer as
// the whole lists, whatever order the objects arrived in, and follows them as they finish.
TEST(OperationOrder, FromTheCachesItMatchesTheWholeLists) {
  auto pendingByDomain = [](bool (*pending)(const json&)) {
    return kube::Indexers{{kPendingByDomainIndex, [pending](const json& object) {
                             return pending(object) ? std::vector<std::string>{domainKeyOf(object)}
                                                    : std::vector<std::string>{};
                           }}};
  };
  const kube::IndexOrders ordered{{kPendingByDomainIndex, operationOrderKey}};
  kube::ObjectCache snapshots(pendingByDomain(snapshotPending), kube::CacheStorage::Packed, ordered);
  kube::ObjectCache reverts(pendingByDomain(revertPending), kube::CacheStorage::Packed, ordered);
  std::vector<kube::ObjectPtr> allSnapshots{
      object("z-first", "2026-01-01T00:00:01Z"), object("b", "2026-01-01T00:00:03Z"),
      object("a", "2026-01-01T00:00:03Z"), object("done", "2026-01-01T00:00:00Z", "Ready")};
  std::vector<kube::ObjectPtr> allReverts{object("r", "2026-01-01T00:00:02Z"),
                                          object("r-failed", "2026-01-01T00:00:00Z", "Failed")};
  for (const auto& snapshot : allSnapshots) {
    snapshots.upsert(snapshot);
  }
  for (const auto& revert : allReverts) {
    reverts.upsert(revert);
  }
  const std::vector<std::string> expected{"z-first", "r", "a", "b"};
  for (const std::string& name : expected) {
    auto fromCaches = nextOperation(snapshots, reverts, "vms/web");
    ASSERT_TRUE(fromCaches);
    EXPECT_EQ(fromCaches, nextOperation(allSnapshots, allReverts));
    EXPECT_EQ(fromCaches->name, name);
    // It finishes: the next one comes up.
    auto& list = fromCaches->kind == PendingOperation::Kind::Snapshot ? allSnapshots : allReverts;
    auto& cache = fromCaches->kind == PendingOperation::Kind::Snapshot ? snapshots : reverts;
    for (auto& entry : list) {
      if ((*entry)["metadata"]["name"] == name) {
        json done = *entry;
        done["status"]["phase"] =
            fromCaches->kind == PendingOperation::Kind::Snapshot ? "Ready" : "Succeeded";
        entry = std::make_shared<const json>(std::move(done));
        cache.upsert(entry);
      }
    }
  }
  EXPECT_EQ(nextOperation(snapshots, reverts, "vms/web"), std::nullopt);
  EXPECT_EQ(nextOperation(snapshots, reverts, "vms/other"), std::nullopt);
}

}  // namespace
}  // namespace virtsnap::reconcilers
