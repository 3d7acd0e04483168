// The order of one domain's creates and reverts (reconcilers/operation_order.h).
#include "reconcilers/operation_order.h"

#include <memory>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace virtsnap::reconcilers
