// The external-snapshot deletion rules (docs/design.md, Snapshot tree rules), one test per rule, and the
// branch-after-revert scenario: revert to a non-leaf external snapshot, branch, then every refusal and every
// allowed deletion.

#include "drivers/external_deletion_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/snapshot_tree.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

constexpr auto kInternal = SnapshotLocation::Internal;
constexpr auto kExternal = SnapshotLocation::External;
constexpr DeleteOptions kPlain{DeleteScope::Snapshot, false};
constexpr DeleteOptions kChildren{DeleteScope::Children, false};
constexpr DeleteOptions kChildrenOnly{DeleteScope::ChildrenOnly, false};
constexpr DeleteOptions kMetadataOnly{DeleteScope::Snapshot, true};

class ExternalDeletionTest : public ::testing::Test {
 protected:
  void create(const std::string& name, SnapshotLocation location = kExternal) {
    ASSERT_TRUE(tree_.create(SnapshotRecord{name, std::nullopt, location}).has_value());
  }
  void revert(const std::string& name) { ASSERT_EQ(tree_.revert(name), std::nullopt); }
  std::optional<DeletionBlockReason> reason(const std::string& name, DeleteOptions options = kPlain) const {
    auto block = tree_.checkDeletion(name, options);
    return block ? std::optional(block->reason) : std::nullopt;
  }
  // A refused deletion is an error value carrying the block, and the tree does not change.
  void expectRefused(const std::string& name, DeleteOptions options, DeletionBlockReason expected) {
    const auto before = tree_.topologicalOrder();
    const auto currentBefore = tree_.current();
    auto result = tree_.remove(name, options);
    ASSERT_FALSE(result.has_value()) << name << " was deleted";
    EXPECT_EQ(result.error().code, TreeErrorCode::Blocked);
    ASSERT_TRUE(result.error().block.has_value());
    EXPECT_EQ(result.error().block->reason, expected) << result.error().message;
    EXPECT_THAT(result.error().message, HasSubstr("MetadataOnly"));
    EXPECT_EQ(tree_.topologicalOrder(), before);
    EXPECT_EQ(tree_.current(), currentBefore);
  }

  SnapshotTree tree_;
};

TEST_F(ExternalDeletionTest, ExternalWithMoreThanOneChildIsRefused) {
  create("base");
  create("left");
  revert("base");
  create("right");
  revert("base");
  create("third");  // base has three children; current "third" keeps base in the active chain
  EXPECT_EQ(reason("base"), DeletionBlockReason::ExternalWithMultipleChildren);
  EXPECT_THAT(tree_.checkDeletion("base", kPlain)->message, HasSubstr("Delete all but one of its branches"));
}

TEST_F(ExternalDeletionTest, NonLeafExternalOutsideTheActiveChainIsRefused) {
  create("root");
  create("mid");
  create("leaf");
  revert("root");
  create("other");  // active chain: other, root; mid is off it and has a child
  EXPECT_EQ(reason("mid"), DeletionBlockReason::ExternalNotInActiveChain);
  EXPECT_THAT(tree_.checkDeletion("mid", kPlain)->message, HasSubstr("Revert to 'mid'"));
}

TEST_F(ExternalDeletionTest, ActiveExternalThatIsNotALeafIsRefused) {
  create("a");
  create("b");
  revert("a");
  EXPECT_EQ(reason("a"), DeletionBlockReason::ActiveExternalNotLeaf);
}

TEST_F(ExternalDeletionTest, ChildrenOverExternalDescendantsIsRefused) {
  create("i1", kInternal);
  create("e1");
  revert("i1");
  EXPECT_EQ(reason("i1", kChildren), DeletionBlockReason::ExternalDescendants);
  EXPECT_EQ(reason("i1", kChildrenOnly), DeletionBlockReason::ExternalDescendants);
}

TEST_F(ExternalDeletionTest, ChildrenOfAnExternalLeafIsRefusedButChildrenOnlyIsNot) {
  create("e1");
  EXPECT_EQ(reason("e1", kChildren), DeletionBlockReason::ExternalDescendants);
  EXPECT_EQ(reason("e1", kChildrenOnly), std::nullopt);
}

TEST_F(ExternalDeletionTest, ExternalNeedingAMergeIntoAnInternalParentIsRefused) {
  create("i1", kInternal);
  create("e1");
  EXPECT_EQ(reason("e1"), DeletionBlockReason::ExternalWithInternalParent);  // current: merge
  create("e2");
  revert("e1");
  revert("e2");
  EXPECT_EQ(reason("e1"), DeletionBlockReason::ExternalWithInternalParent);  // has a child: merge
}

TEST_F(ExternalDeletionTest, ALeafExternalThatIsNotCurrentMayLeaveItsInternalParent) {
  create("i1", kInternal);
  create("e1");
  revert("i1");  // libvirt just removes e1's overlay files (seen on 11.3)
  EXPECT_EQ(reason("e1"), std::nullopt);
}

// virtsnap's own rule: libvirt 11.3 deletes e1 and silently loses i1, whose data lives in e1's overlay.
TEST_F(ExternalDeletionTest, ExternalWhoseOverlayHoldsInternalSnapshotsIsRefused) {
  create("e1");
  create("i1", kInternal);
  revert("e1");
  revert("i1");
  auto block = tree_.checkDeletion("e1", kPlain);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->reason, DeletionBlockReason::ExternalWithInternalChildren);
  EXPECT_THAT(block->message, HasSubstr("Delete 'i1' first"));
  EXPECT_TRUE(tree_.remove("i1", kPlain).has_value());
  EXPECT_EQ(reason("e1"), std::nullopt);
}

TEST_F(ExternalDeletionTest, MetadataOnlyIsNeverBlocked) {
  create("a");
  create("b");
  revert("a");
  create("c");
  revert("a");
  EXPECT_EQ(reason("a", kMetadataOnly), std::nullopt);
  EXPECT_EQ(reason("a", DeleteOptions{DeleteScope::Children, true}), std::nullopt);
  EXPECT_TRUE(tree_.remove("a", kMetadataOnly).has_value());
}

TEST_F(ExternalDeletionTest, InternalSnapshotsAreNeverBlocked) {
  create("a", kInternal);
  create("b", kInternal);
  revert("a");
  create("c", kInternal);
  revert("a");
  EXPECT_EQ(reason("a"), std::nullopt);
  EXPECT_EQ(reason("a", kChildren), std::nullopt);
}

TEST_F(ExternalDeletionTest, ExternalLeafAndLinearChainAreDeletable) {
  create("e1");
  create("e2");
  create("e3");
  EXPECT_EQ(reason("e3"), std::nullopt);  // current leaf
  EXPECT_EQ(reason("e2"), std::nullopt);  // in the active chain, one child
  EXPECT_EQ(reason("e1"), std::nullopt);  // a root in the active chain, one child
}

// Branch after revert: e1 -> e2 -> e3, revert to the non-leaf e2, create e4 (a branch), and so on.
TEST_F(ExternalDeletionTest, RevertToNonLeafExternalThenBranchRefusesAndAllowsExactlyAsLibvirt) {
  create("e1");
  create("e2");
  create("e3");
  create("e3a");  // e3 has a child, so it is a non-leaf once the active chain moves away
  revert("e2");
  create("e4");  // the branch: e2 has children e3 and e4; current e4; active chain e4, e2, e1
  ASSERT_THAT(tree_.childrenOf("e2"), ::testing::ElementsAre("e3", "e4"));
  ASSERT_THAT(tree_.activeChain(), ::testing::ElementsAre("e4", "e2", "e1"));

  expectRefused("e2", kPlain, DeletionBlockReason::ExternalWithMultipleChildren);
  expectRefused("e3", kPlain, DeletionBlockReason::ExternalNotInActiveChain);
  expectRefused("e1", kChildren, DeletionBlockReason::ExternalDescendants);
  expectRefused("e2", kChildrenOnly, DeletionBlockReason::ExternalDescendants);
  revert("e2");
  expectRefused("e2", kPlain, DeletionBlockReason::ActiveExternalNotLeaf);
  revert("e4");

  // Allowed: the leaf off the active chain, the current leaf, then the chain once it is linear.
  EXPECT_TRUE(tree_.remove("e3a", kPlain).has_value());
  EXPECT_EQ(reason("e3"), std::nullopt);  // now a leaf
  EXPECT_TRUE(tree_.remove("e3", kPlain).has_value());
  EXPECT_EQ(reason("e2"), std::nullopt);  // one child left, in the active chain
  EXPECT_TRUE(tree_.remove("e4", kPlain).has_value());
  EXPECT_THAT(tree_.current(), Optional(std::string("e2")));
  EXPECT_TRUE(tree_.remove("e1", kPlain).has_value());
  EXPECT_THAT(tree_.roots(), ::testing::ElementsAre("e2"));
  EXPECT_EQ(tree_.checkInvariants(), std::nullopt);
}

TEST_F(ExternalDeletionTest, EveryReasonHasAStableName) {
  EXPECT_EQ(toString(DeletionBlockReason::ExternalWithMultipleChildren), "ExternalWithMultipleChildren");
  EXPECT_EQ(toString(DeletionBlockReason::ExternalNotInActiveChain), "ExternalNotInActiveChain");
  EXPECT_EQ(toString(DeletionBlockReason::ActiveExternalNotLeaf), "ActiveExternalNotLeaf");
  EXPECT_EQ(toString(DeletionBlockReason::ExternalDescendants), "ExternalDescendants");
  EXPECT_EQ(toString(DeletionBlockReason::ExternalWithInternalParent), "ExternalWithInternalParent");
  EXPECT_EQ(toString(DeletionBlockReason::ExternalWithInternalChildren), "ExternalWithInternalChildren");
  EXPECT_EQ(toString(DeletionBlockReason::InternalNotInCurrentImage), "InternalNotInCurrentImage");
  EXPECT_EQ(toString(DeletionBlockReason::PausedAfterMemorySnapshot), "PausedAfterMemorySnapshot");
}

}  // namespace
}  // namespace virtsnap::drivers
