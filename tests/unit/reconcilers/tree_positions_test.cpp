// Positions updated for what an operation touched must equal positions computed for the whole tree
// after it: random creates (internal and external), reverts and deletions of every scope on the tree
// model, checked after every step. A failure prints the seed and the whole sequence.

#include "reconcilers/tree_positions.h"

#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::reconcilers {
namespace {

using drivers::DeleteOptions;
using drivers::DeleteScope;
using drivers::SnapshotLocation;
using drivers::SnapshotRecord;
using drivers::SnapshotTree;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

SnapshotRecord record(const std::string& name, SnapshotLocation location = SnapshotLocation::Internal) {
  return SnapshotRecord{name, std::nullopt, location};
}

TEST(TreePositions, ACreateTouchesTheNewSnapshotAndThePreviousCurrentOnly) {
  SnapshotTree tree;
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(tree.create(record(name)));
  }
  TreePositions positions = positionsOf(tree);
  ASSERT_TRUE(tree.create(record("d")));
  const TouchedPositions touched = touchedByCreate(tree, "d", std::string("c"));
  EXPECT_THAT(touched, UnorderedElementsAre("c", "d"));
  EXPECT_THAT(updatePositions(positions, tree, touched), UnorderedElementsAre("c", "d"));
  EXPECT_EQ(positions, positionsOf(tree));
  EXPECT_EQ(positions.at("d").depth, 3U);
  EXPECT_THAT(positions.at("c").children, ElementsAre("d"));
}

TEST(TreePositions, DeletingASnapshotWithChildrenMovesItsWholeSubtreeUpOneLevel) {
  SnapshotTree tree;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(tree.create(record("s" + std::to_string(100 + i))));
  }
  TreePositions positions = positionsOf(tree);
  const auto previousCurrent = tree.current();
  const auto parent = tree.parentOf("s130");
  auto outcome = tree.remove("s130", DeleteOptions{});
  ASSERT_TRUE(outcome.has_value());
  const TouchedPositions touched = touchedByDelete(tree, *outcome, parent, previousCurrent);
  EXPECT_EQ(touched.size(), 11U);  // s129 (a child less, then more), s130 (gone) and the nine below it
  EXPECT_EQ(updatePositions(positions, tree, touched).size(), 11U);
  EXPECT_EQ(positions, positionsOf(tree));
  EXPECT_EQ(positions.at("s139").depth, 38U);
}

TEST(TreePositions, TheDeletionBlockKeepsTheReasonNotTheMessageThatNamesTheCurrentSnapshot) {
  SnapshotTree tree;
  ASSERT_TRUE(tree.create(record("a", SnapshotLocation::External)));
  ASSERT_TRUE(tree.create(record("b", SnapshotLocation::External)));
  ASSERT_FALSE(tree.revert("a"));
  ASSERT_TRUE(tree.create(record("c")));
  ASSERT_FALSE(tree.revert("b"));
  ASSERT_TRUE(tree.create(record("d", SnapshotLocation::External)));
  ASSERT_TRUE(tree.create(record("e")));
  // b is external, has a child and is off the active chain once c's branch is current again.
  ASSERT_FALSE(tree.revert("c"));
  TreePositions positions = positionsOf(tree);
  EXPECT_EQ(positions.at("b").deletionBlocked, drivers::DeletionBlockReason::ExternalNotInActiveChain);
  const auto previousCurrent = tree.current();
  ASSERT_TRUE(tree.create(record("f")));  // the message would now name f instead of c
  EXPECT_THAT(updatePositions(positions, tree, touchedByCreate(tree, "f", previousCurrent)),
              UnorderedElementsAre("c", "f"));
  EXPECT_EQ(positions, positionsOf(tree));
}

class TreePositionsDifferential : public ::testing::TestWithParam<unsigned> {};

TEST_P(TreePositionsDifferential, AnUpdateEqualsTheWholeTreesPositionsAfterEveryStep) {
  const unsigned seed = GetParam();
  std::mt19937 rng(seed);
  std::ostringstream sequence;
  SnapshotTree tree;
  TreePositions positions;
  int next = 0;
  std::size_t incremental = 0;
  for (int step = 0; step < 600; ++step) {
    const int roll = std::uniform_int_distribution<int>(0, 19)(rng);
    std::vector<std::string> names;
    tree.forEachTopological([&](const SnapshotRecord& r, std::size_t) { names.push_back(r.name); });
    TouchedPositions touched;
    if (names.empty() || roll < 11) {
      const std::string name = "s" + std::to_string(next++);
      const auto location = roll % 3 == 0 ? SnapshotLocation::External : SnapshotLocation::Internal;
      sequence << "create " << name << (location == SnapshotLocation::External ? " external" : "") << "\n";
      const auto previousCurrent = tree.current();
      ASSERT_TRUE(tree.create(record(name, location)));
      touched = touchedByCreate(tree, name, previousCurrent);
    } else {
      const std::string target = names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(rng)];
      if (roll < 14) {
        sequence << "revert " << target << "\n";
        ASSERT_FALSE(tree.revert(target));
        positions = positionsOf(tree);  // a revert lists the whole tree (the views do the same)
        continue;
      }
      DeleteOptions options;
      options.scope = roll < 17   ? DeleteScope::Snapshot
                      : roll < 19 ? DeleteScope::Children
                                  : DeleteScope::ChildrenOnly;
      options.metadataOnly =
          std::bernoulli_distribution(0.5)(rng);  // lets blocked external deletions through
      sequence << "delete " << target << " scope " << static_cast<int>(options.scope)
               << (options.metadataOnly ? " metadata-only" : "") << "\n";
      const auto previousCurrent = tree.current();
      const auto childrenChanged =
          options.scope == DeleteScope::ChildrenOnly ? std::optional(target) : tree.parentOf(target);
      auto outcome = tree.remove(target, options);
      if (!outcome) {
        sequence << "  refused\n";
        continue;
      }
      touched = touchedByDelete(tree, *outcome, childrenChanged, previousCurrent);
    }
    const TreePositions expected = positionsOf(tree);
    const std::set<std::string> expectedChanges = changedPositions(positions, expected);
    if (touched.size() * 4 <= tree.size()) {
      ++incremental;
    }
    const std::set<std::string> changes = updatePositions(positions, tree, touched);
    ASSERT_EQ(changes, expectedChanges) << "seed " << seed << ", step " << step << ":\n" << sequence.str();
    ASSERT_TRUE(positions == expected) << "seed " << seed << ", step " << step << ":\n" << sequence.str();
  }
  EXPECT_GT(incremental, 100U) << "seed " << seed << ": the update path itself was hardly exercised";
}

INSTANTIATE_TEST_SUITE_P(Seeds, TreePositionsDifferential, ::testing::Values(1U, 2U, 3U, 20261207U));

}  // namespace
}  // namespace virtsnap::reconcilers
