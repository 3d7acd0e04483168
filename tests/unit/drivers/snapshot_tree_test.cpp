// The snapshot tree model, one test per rule of docs/design.md, Snapshot tree rules (libvirt's semantics).

#include "drivers/snapshot_tree.h"

#include <algorithm>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/driver_printers.h"

namespace virtsnap::drivers {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr auto kInternal = SnapshotLocation::Internal;

SnapshotRecord rec(std::string name, std::optional<std::string> parent = std::nullopt,
                   SnapshotLocation location = kInternal) {
  return SnapshotRecord{std::move(name), std::move(parent), location};
}

class SnapshotTreeTest : public ::testing::Test {
 protected:
  void create(const std::string& name, SnapshotLocation location = kInternal) {
    auto result = tree_.create(rec(name, std::nullopt, location));
    ASSERT_TRUE(result.has_value()) << result.error().message;
  }
  void revert(const std::string& name) { ASSERT_EQ(tree_.revert(name), std::nullopt); }
  void expectConsistent() const { EXPECT_EQ(tree_.checkInvariants(), std::nullopt); }

  SnapshotTree tree_;
};

// --- create ----------------------------------------------------------------------------------------

TEST_F(SnapshotTreeTest, FirstSnapshotIsARootAndBecomesCurrent) {
  create("a");
  EXPECT_THAT(tree_.roots(), ElementsAre("a"));
  EXPECT_EQ(tree_.parentOf("a"), std::nullopt);
  EXPECT_THAT(tree_.current(), Optional(std::string("a")));
  expectConsistent();
}

TEST_F(SnapshotTreeTest, NewSnapshotIsChildOfCurrentAndBecomesCurrent) {
  create("a");
  create("b");
  create("c");
  EXPECT_THAT(tree_.parentOf("b"), Optional(std::string("a")));
  EXPECT_THAT(tree_.parentOf("c"), Optional(std::string("b")));
  EXPECT_THAT(tree_.current(), Optional(std::string("c")));
  EXPECT_THAT(tree_.depth("c"), Optional(2u));
  expectConsistent();
}

TEST_F(SnapshotTreeTest, CreateIgnoresARequestedParent) {
  create("a");
  create("b");
  auto made = tree_.create(rec("c", "a"));
  ASSERT_TRUE(made.has_value());
  EXPECT_THAT(made.value().parent, Optional(std::string("b")));
}

TEST_F(SnapshotTreeTest, CreateRefusesADuplicateNameAndChangesNothing) {
  create("a");
  create("b");
  revert("a");
  auto again = tree_.create(rec("b"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, TreeErrorCode::AlreadyExists);
  EXPECT_THAT(tree_.current(), Optional(std::string("a")));
  EXPECT_EQ(tree_.size(), 2u);
}

TEST_F(SnapshotTreeTest, CreateRefusesAnEmptyName) {
  auto made = tree_.create(rec(""));
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error().code, TreeErrorCode::InvalidName);
  EXPECT_TRUE(tree_.empty());
}

// --- revert ----------------------------------------------------------------------------------------

TEST_F(SnapshotTreeTest, RevertSetsCurrentAndLeavesTheTreeAlone) {
  create("a");
  create("b");
  revert("a");
  EXPECT_THAT(tree_.current(), Optional(std::string("a")));
  EXPECT_THAT(tree_.childrenOf("a"), ElementsAre("b"));
  expectConsistent();
}

TEST_F(SnapshotTreeTest, CreateAfterRevertToNonLeafStartsABranch) {
  create("a");
  create("b");
  revert("a");
  create("c");
  EXPECT_THAT(tree_.childrenOf("a"), ElementsAre("b", "c"));
  EXPECT_THAT(tree_.leaves(), ElementsAre("b", "c"));
  EXPECT_THAT(tree_.activeChain(), ElementsAre("c", "a"));
  expectConsistent();
}

TEST_F(SnapshotTreeTest, RevertToUnknownSnapshotIsNotFoundAndKeepsCurrent) {
  create("a");
  auto error = tree_.revert("zzz");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, TreeErrorCode::NotFound);
  EXPECT_THAT(tree_.current(), Optional(std::string("a")));
}

// --- delete ----------------------------------------------------------------------------------------

class DeleteTest : public SnapshotTreeTest {
 protected:
  // a -> b -> {c -> d, e}; current is d.
  void SetUp() override {
    create("a");
    create("b");
    create("c");
    create("d");
    revert("b");
    create("e");
    revert("d");
  }
  DeleteOutcome remove(const std::string& name, DeleteOptions options = {}) {
    auto result = tree_.remove(name, options);
    EXPECT_TRUE(result.has_value()) << result.error().message;
    expectConsistent();
    return result.has_value() ? std::move(result).value() : DeleteOutcome{};
  }
};

TEST_F(DeleteTest, PlainDeleteReparentsChildrenToItsParent) {
  auto outcome = remove("b");
  EXPECT_THAT(outcome.removed, ElementsAre("b"));
  EXPECT_THAT(outcome.reparented, ElementsAre("c", "e"));
  EXPECT_THAT(tree_.childrenOf("a"), ElementsAre("c", "e"));
  EXPECT_THAT(tree_.parentOf("c"), Optional(std::string("a")));
  EXPECT_THAT(tree_.current(), Optional(std::string("d")));
}

TEST_F(DeleteTest, PlainDeleteOfARootMakesItsChildrenRoots) {
  remove("a");
  EXPECT_THAT(tree_.roots(), ElementsAre("b"));
  EXPECT_EQ(tree_.parentOf("b"), std::nullopt);
  EXPECT_THAT(tree_.depth("d"), Optional(2u));
}

TEST_F(DeleteTest, PlainDeleteOfCurrentMovesCurrentToItsParent) {
  auto outcome = remove("d");
  EXPECT_THAT(outcome.current, Optional(std::string("c")));
  EXPECT_THAT(tree_.current(), Optional(std::string("c")));
}

TEST_F(DeleteTest, PlainDeleteOfCurrentRootClearsCurrent) {
  revert("a");
  remove("a");
  EXPECT_EQ(tree_.current(), std::nullopt);
}

TEST_F(DeleteTest, DeleteOfANonCurrentSnapshotKeepsCurrent) {
  remove("e");
  EXPECT_THAT(tree_.current(), Optional(std::string("d")));
}

TEST_F(DeleteTest, ChildrenDeletesTheWholeSubtree) {
  auto outcome = remove("b", {DeleteScope::Children, false});
  EXPECT_THAT(outcome.removed, ElementsAre("b", "c", "d", "e"));
  EXPECT_THAT(tree_.topologicalOrder(), ElementsAre(rec("a")));
}

TEST_F(DeleteTest, ChildrenWithCurrentInsideMovesCurrentToTheParentOfTheSubtree) {
  remove("c", {DeleteScope::Children, false});
  EXPECT_THAT(tree_.current(), Optional(std::string("b")));
}

TEST_F(DeleteTest, ChildrenOfARootWithCurrentInsideClearsCurrent) {
  remove("a", {DeleteScope::Children, false});
  EXPECT_TRUE(tree_.empty());
  EXPECT_EQ(tree_.current(), std::nullopt);
}

TEST_F(DeleteTest, ChildrenOnlyKeepsTheSnapshotAndDeletesBelowIt) {
  auto outcome = remove("b", {DeleteScope::ChildrenOnly, false});
  EXPECT_THAT(outcome.removed, ElementsAre("c", "d", "e"));
  EXPECT_THAT(tree_.leaves(), ElementsAre("b"));
}

TEST_F(DeleteTest, ChildrenOnlyWithCurrentInsideMakesTheSnapshotCurrent) {
  remove("b", {DeleteScope::ChildrenOnly, false});
  EXPECT_THAT(tree_.current(), Optional(std::string("b")));
}

TEST_F(DeleteTest, ChildrenOnlyWithCurrentOutsideKeepsCurrent) {
  remove("c", {DeleteScope::ChildrenOnly, false});
  EXPECT_THAT(tree_.current(), Optional(std::string("c")));  // d was current, c is its parent
  revert("e");
  remove("c", {DeleteScope::ChildrenOnly, false});
  EXPECT_THAT(tree_.current(), Optional(std::string("e")));
}

TEST_F(DeleteTest, ChildrenOnlyOfALeafIsANoOp) {
  auto outcome = remove("e", {DeleteScope::ChildrenOnly, false});
  EXPECT_THAT(outcome.removed, IsEmpty());
  EXPECT_EQ(tree_.size(), 5u);
}

TEST_F(DeleteTest, MetadataOnlyChangesTheTreeLikeAPlainDelete) {
  auto outcome = remove("b", {DeleteScope::Snapshot, true});
  EXPECT_THAT(outcome.removed, ElementsAre("b"));
  EXPECT_THAT(tree_.childrenOf("a"), ElementsAre("c", "e"));
}

TEST_F(DeleteTest, DeleteOfUnknownSnapshotIsNotFoundAndChangesNothing) {
  auto result = tree_.remove("nope", {});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, TreeErrorCode::NotFound);
  EXPECT_EQ(tree_.size(), 5u);
}

// --- queries ---------------------------------------------------------------------------------------

TEST_F(DeleteTest, TopologicalOrderPutsParentsFirstAndSiblingsByName) {
  std::vector<std::pair<std::string, std::size_t>> seen;
  tree_.forEachTopological(
      [&](const SnapshotRecord& r, std::size_t depth) { seen.emplace_back(r.name, depth); });
  EXPECT_THAT(
      seen,
      ElementsAre(std::pair<std::string, std::size_t>{"a", 0}, std::pair<std::string, std::size_t>{"b", 1},
                  std::pair<std::string, std::size_t>{"c", 2}, std::pair<std::string, std::size_t>{"d", 3},
                  std::pair<std::string, std::size_t>{"e", 2}));
}

TEST_F(DeleteTest, RootsLeavesDepthAndActiveChain) {
  EXPECT_THAT(tree_.roots(), ElementsAre("a"));
  EXPECT_THAT(tree_.leaves(), ElementsAre("d", "e"));
  EXPECT_THAT(tree_.depth("a"), Optional(0u));
  EXPECT_THAT(tree_.depth("e"), Optional(2u));
  EXPECT_EQ(tree_.depth("nope"), std::nullopt);
  EXPECT_THAT(tree_.activeChain(), ElementsAre("d", "c", "b", "a"));
  EXPECT_TRUE(tree_.inActiveChain("b"));
  EXPECT_FALSE(tree_.inActiveChain("e"));
  EXPECT_THAT(tree_.descendantsOf("b"), ElementsAre("c", "d", "e"));
}

TEST(SnapshotTreeDeepChain, TenThousandDeepChainIsWalkedWithoutRecursion) {
  SnapshotTree tree;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(tree.create(rec("s" + std::to_string(i))).has_value());
  }
  EXPECT_THAT(tree.depth("s9999"), Optional(9999u));
  EXPECT_EQ(tree.topologicalOrder().size(), 10000u);
  auto outcome = tree.remove("s0", {DeleteScope::Children, false});
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(tree.empty());
  EXPECT_EQ(tree.current(), std::nullopt);
}

// --- rebuild (UpdateRelations) -----------------------------------------------------------------------

TEST(SnapshotTreeRebuild, RebuildLinksRecordsByParentNameInAnyOrder) {
  std::vector<SnapshotRecord> records{rec("c", "b"), rec("a"), rec("b", "a"), rec("d", "a")};
  SnapshotTree first;
  SnapshotTree second;
  EXPECT_TRUE(first.rebuild(records, "c").clean());
  std::reverse(records.begin(), records.end());
  EXPECT_TRUE(second.rebuild(records, "c").clean());
  EXPECT_EQ(first.topologicalOrder(), second.topologicalOrder());
  EXPECT_THAT(first.childrenOf("a"), ElementsAre("b", "d"));
  EXPECT_THAT(first.current(), Optional(std::string("c")));
}

TEST(SnapshotTreeRebuild, OrphanIsAttachedAtTheRootAndReported) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("a"), rec("b", "gone"), rec("c", "b")};
  auto report = tree.rebuild(records, std::nullopt);
  EXPECT_THAT(report.orphans, ElementsAre("b"));
  EXPECT_THAT(tree.roots(), ElementsAre("a", "b"));
  EXPECT_THAT(tree.parentOf("c"), Optional(std::string("b")));
  EXPECT_EQ(tree.checkInvariants(), std::nullopt);
}

TEST(SnapshotTreeRebuild, CycleIsBrokenAtItsSmallestNameAndReportedWhateverTheOrder) {
  std::vector<SnapshotRecord> records{rec("x", "z"), rec("y", "x"), rec("z", "y"), rec("w", "y"),
                                      rec("self", "self")};
  std::mt19937 rng(7);
  std::vector<SnapshotRecord> expected;
  for (int round = 0; round < 20; ++round) {
    std::shuffle(records.begin(), records.end(), rng);
    SnapshotTree tree;
    auto report = tree.rebuild(records, std::nullopt);
    EXPECT_THAT(report.cycleBreaks, ElementsAre("self", "x"));
    EXPECT_THAT(tree.roots(), ElementsAre("self", "x"));
    EXPECT_EQ(tree.checkInvariants(), std::nullopt);
    if (round == 0) {
      expected = tree.topologicalOrder();
    }
    EXPECT_EQ(tree.topologicalOrder(), expected);
  }
}

TEST(SnapshotTreeRebuild, CurrentNamingAMissingSnapshotIsCleared) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("a")};
  auto report = tree.rebuild(records, "removed");
  EXPECT_THAT(report.clearedCurrent, Optional(std::string("removed")));
  EXPECT_EQ(tree.current(), std::nullopt);
}

TEST(SnapshotTreeRebuild, RebuildForgetsThePreviousStateEntirely) {
  SnapshotTree tree;
  ASSERT_TRUE(tree.create(rec("old")).has_value());
  ASSERT_TRUE(tree.create(rec("older")).has_value());
  std::vector<SnapshotRecord> records{rec("n1"), rec("n2", "n1")};
  EXPECT_TRUE(tree.rebuild(records, std::nullopt).clean());
  EXPECT_FALSE(tree.contains("old"));
  EXPECT_EQ(tree.current(), std::nullopt);  // "older" was current and is gone
  EXPECT_THAT(tree.roots(), ElementsAre("n1"));
  EXPECT_EQ(tree.checkInvariants(), std::nullopt);
}

TEST(SnapshotTreeRebuild, DuplicateNamesKeepTheFirstRecord) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("a"), rec("b", "a"), rec("b")};
  auto report = tree.rebuild(records, std::nullopt);
  EXPECT_THAT(report.duplicates, ElementsAre("b"));
  EXPECT_THAT(tree.parentOf("b"), Optional(std::string("a")));
}

// --- bulk redefine -----------------------------------------------------------------------------------

TEST(SnapshotTreeRedefine, RedefinesParentsBeforeChildrenAndMarksCurrent) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("c", "b"), rec("b", "a"), rec("a"), rec("d", "a")};
  std::vector<std::string> order;
  auto failure = tree.redefineAll(records, "c", [&](const SnapshotRecord& r, bool current) {
    order.push_back(r.name + (current ? "*" : ""));
    return std::optional<std::string>{};
  });
  EXPECT_EQ(failure, std::nullopt);
  EXPECT_THAT(order, ElementsAre("a", "b", "c*", "d"));
  EXPECT_THAT(tree.current(), Optional(std::string("c")));
  EXPECT_EQ(tree.checkInvariants(), std::nullopt);
}

// All-or-nothing: a bulk redefine fails partway; everything it defined is removed again, the
// metaroot holds nothing, and the current pointer (set during the attempt) is reset.
TEST(SnapshotTreeRedefine, RedefineFailingPartwayLeavesTheTreeEmptyConsistentAndNothingCurrent) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("a"), rec("b", "a"), rec("c", "b"), rec("d", "c"), rec("e", "a")};
  auto failure = tree.redefineAll(records, "b", [](const SnapshotRecord& r, bool) {
    return r.name == "d" ? std::optional<std::string>("libvirt: definition for snapshot d must use uuid 1234")
                         : std::nullopt;
  });
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->error.code, TreeErrorCode::StepFailed);
  EXPECT_EQ(failure->error.snapshot, "d");
  EXPECT_THAT(failure->error.message, ::testing::HasSubstr("must use uuid"));
  EXPECT_THAT(failure->rolledBack, ElementsAre("c", "b", "a"));
  EXPECT_TRUE(tree.empty());
  EXPECT_THAT(tree.roots(), IsEmpty());
  EXPECT_EQ(tree.current(), std::nullopt);
  EXPECT_EQ(tree.checkInvariants(), std::nullopt);
  // The tree is usable afterwards: a new snapshot is a root again.
  ASSERT_TRUE(tree.create(rec("fresh")).has_value());
  EXPECT_THAT(tree.roots(), ElementsAre("fresh"));
}

TEST(SnapshotTreeRedefine, RedefineWithAMissingParentFailsBeforeAnyStep) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("a"), rec("b", "lost")};
  int steps = 0;
  auto failure = tree.redefineAll(records, std::nullopt, [&](const SnapshotRecord&, bool) {
    ++steps;
    return std::optional<std::string>{};
  });
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->error.code, TreeErrorCode::NotFound);
  EXPECT_EQ(failure->error.snapshot, "b");
  EXPECT_EQ(steps, 0);
  EXPECT_TRUE(tree.empty());
}

TEST(SnapshotTreeRedefine, RedefineOfACycleRollsBackWhatItAdded) {
  SnapshotTree tree;
  std::vector<SnapshotRecord> records{rec("root"), rec("x", "y"), rec("y", "x")};
  auto failure = tree.redefineAll(records, "root");
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->error.code, TreeErrorCode::Cycle);
  EXPECT_EQ(failure->error.snapshot, "x");
  EXPECT_THAT(failure->rolledBack, ElementsAre("root"));
  EXPECT_TRUE(tree.empty());
  EXPECT_EQ(tree.current(), std::nullopt);
}

TEST(SnapshotTreeRedefine, RedefineOfAnExistingNameIsRefused) {
  SnapshotTree tree;
  ASSERT_TRUE(tree.create(rec("a")).has_value());
  std::vector<SnapshotRecord> records{rec("b", "a"), rec("a")};
  auto failure = tree.redefineAll(records, std::nullopt);
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->error.code, TreeErrorCode::AlreadyExists);
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_THAT(tree.current(), Optional(std::string("a")));
}

TEST(SnapshotTreeRedefine, FailedRedefineIntoAnExistingTreeKeepsItsCurrent) {
  SnapshotTree tree;
  ASSERT_TRUE(tree.create(rec("base")).has_value());
  std::vector<SnapshotRecord> records{rec("n1", "base"), rec("n2", "n1")};
  auto failure = tree.redefineAll(records, "n1", [](const SnapshotRecord& r, bool) {
    return r.name == "n2" ? std::optional<std::string>("refused") : std::nullopt;
  });
  ASSERT_TRUE(failure.has_value());
  EXPECT_THAT(tree.current(), Optional(std::string("base")));
  EXPECT_THAT(tree.childrenOf("base"), IsEmpty());
  EXPECT_EQ(tree.checkInvariants(), std::nullopt);
}

}  // namespace
}  // namespace virtsnap::drivers
