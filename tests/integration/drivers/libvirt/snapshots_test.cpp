// Snapshot operations against libvirt's real test driver (test:///default, in-process), and a
// differential test: random operations applied to libvirt and to the tree model must leave the two
// trees identical after every step.

#include <algorithm>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr const char* kUri = "test:///default";
constexpr const char* kDomain = "test";  // the test driver's built-in running domain

class TestDriverSnapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    LibvirtDriverOptions options;
    options.uri = kUri;
    options.revertSpacing = std::chrono::milliseconds(0);  // the test driver writes no overlay files
    libvirt_ = std::make_unique<LibvirtDriver>(options);
  }
  void create(const std::string& name) {
    SnapshotRequest request;
    request.name = name;
    auto made = libvirt_->createSnapshot(kDomain, request);
    ASSERT_TRUE(made.has_value()) << made.error().message;
  }
  SnapshotTree listed() const {
    auto listing = libvirt_->listSnapshots(kDomain);
    EXPECT_TRUE(listing.has_value()) << listing.error().message;
    std::vector<SnapshotRecord> records;
    for (const auto& def : listing.value().snapshots) {
      records.push_back(def.record());
    }
    SnapshotTree tree;
    EXPECT_TRUE(tree.rebuild(records, listing.value().current).clean());
    return tree;
  }

  std::unique_ptr<LibvirtDriver> libvirt_;
};

TEST_F(TestDriverSnapshots, CreateMakesAChildOfCurrentAndListReportsParentsAndCurrent) {
  create("a");
  create("b");
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "a", RevertOptions{}), std::nullopt);
  create("c");
  SnapshotTree tree = listed();
  EXPECT_THAT(tree.childrenOf("a"), ElementsAre("b", "c"));
  EXPECT_THAT(tree.current(), Optional(std::string("c")));
}

TEST_F(TestDriverSnapshots, CreateReturnsTheHypervisorsDefinition) {
  SnapshotRequest request;
  request.name = "described";
  request.description = "<b>bold</b> & more";
  auto made = libvirt_->createSnapshot(kDomain, request);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  EXPECT_EQ(made.value().description, request.description);
  EXPECT_EQ(made.value().state, "running");
  EXPECT_GT(made.value().creationTime, 0);
  EXPECT_THAT(made.value().xml, HasSubstr("<domain"));
}

TEST_F(TestDriverSnapshots, DeleteModesMatchTheModel) {
  create("a");
  create("b");
  create("c");
  ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, "b", {}), std::nullopt);
  SnapshotTree tree = listed();
  EXPECT_THAT(tree.childrenOf("a"), ElementsAre("c"));
  ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, "a", {DeleteScope::ChildrenOnly, false}), std::nullopt);
  tree = listed();
  EXPECT_THAT(tree.current(), Optional(std::string("a")));
  ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, "a", {DeleteScope::Children, false}), std::nullopt);
  EXPECT_TRUE(listed().empty());
}

TEST_F(TestDriverSnapshots, ShapeListsNamesParentsAndCurrentAsTheFullListingDoes) {
  auto empty = libvirt_->listSnapshotShape(kDomain);
  ASSERT_TRUE(empty.has_value()) << empty.error().message;
  EXPECT_TRUE(empty.value().snapshots.empty());
  EXPECT_EQ(empty.value().current, std::nullopt);

  create("a");
  create("b");
  create("c");
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "b", RevertOptions{}), std::nullopt);
  create("d");
  auto shape = libvirt_->listSnapshotShape(kDomain);
  ASSERT_TRUE(shape.has_value()) << shape.error().message;
  auto listing = libvirt_->listSnapshots(kDomain);
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  std::vector<SnapshotLink> fromListing;
  for (const auto& def : listing.value().snapshots) {
    fromListing.push_back(SnapshotLink{def.name, def.parent});
  }
  auto byName = [](const SnapshotLink& left, const SnapshotLink& right) { return left.name < right.name; };
  std::sort(fromListing.begin(), fromListing.end(), byName);
  std::sort(shape.value().snapshots.begin(), shape.value().snapshots.end(), byName);
  EXPECT_EQ(shape.value().snapshots, fromListing);
  EXPECT_THAT(shape.value().snapshots, ElementsAre(SnapshotLink{"a", std::nullopt}, SnapshotLink{"b", "a"},
                                                   SnapshotLink{"c", "b"}, SnapshotLink{"d", "b"}));
  EXPECT_THAT(shape.value().current, Optional(std::string("d")));
  EXPECT_EQ(listing.value().current, shape.value().current);
}

TEST_F(TestDriverSnapshots, DescribeReturnsTheDefinitionsAsListedInTheOrderAsked) {
  create("a");
  create("b");
  auto described = libvirt_->describeSnapshots(kDomain, {"b", "a"});
  ASSERT_TRUE(described.has_value()) << described.error().message;
  ASSERT_EQ(described.value().size(), 2U);
  EXPECT_EQ(described.value()[0].name, "b");
  EXPECT_THAT(described.value()[0].parent, Optional(std::string("a")));
  EXPECT_EQ(described.value()[1].name, "a");
  auto listing = libvirt_->listSnapshots(kDomain);
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  for (const auto& def : listing.value().snapshots) {
    EXPECT_EQ(def.xml, described.value()[def.name == "b" ? 0 : 1].xml);
  }
  auto none = libvirt_->describeSnapshots(kDomain, {});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none.value().empty());

  auto missing = libvirt_->describeSnapshots(kDomain, {"a", "gone"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, DriverErrorKind::NotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("gone"));
}

TEST_F(TestDriverSnapshots, ARevertMarkIsReadBackAndARevertRemovesIt) {
  create("a");
  EXPECT_EQ(libvirt_->revertMark(kDomain).value(), std::nullopt);
  ASSERT_EQ(libvirt_->setRevertMark(kDomain, "uid-1"), std::nullopt);
  EXPECT_THAT(libvirt_->revertMark(kDomain).value(), Optional(std::string("uid-1")));
  // Reverting to the snapshot that is current already still replaces the definition, mark and all.
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "a", RevertOptions{RevertMode::Running, false}),
            std::nullopt);
  EXPECT_EQ(libvirt_->revertMark(kDomain).value(), std::nullopt);

  // A snapshot taken while a mark was there carries it; reverting to it brings that old mark back,
  // which is not the mark of the revert that was just made.
  ASSERT_EQ(libvirt_->setRevertMark(kDomain, "uid-left-over"), std::nullopt);
  create("b");
  ASSERT_EQ(libvirt_->setRevertMark(kDomain, "uid-2"), std::nullopt);
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "b", RevertOptions{RevertMode::Running, false}),
            std::nullopt);
  EXPECT_THAT(libvirt_->revertMark(kDomain).value(), Optional(std::string("uid-left-over")));

  ASSERT_EQ(libvirt_->setRevertMark(kDomain, std::nullopt), std::nullopt);
  EXPECT_EQ(libvirt_->revertMark(kDomain).value(), std::nullopt);
  EXPECT_EQ(libvirt_->setRevertMark(kDomain, std::string()).value().kind, DriverErrorKind::Invalid);
  EXPECT_EQ(libvirt_->revertMark("no-such-domain").error().kind, DriverErrorKind::NotFound);
}

TEST_F(TestDriverSnapshots, DiskOnlyIsATypedUnsupportedError) {
  SnapshotRequest request;
  request.name = "disk-only";
  request.location = SnapshotLocation::External;
  request.memory = false;
  auto made = libvirt_->createSnapshot(kDomain, request);
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error().kind, DriverErrorKind::Unsupported) << made.error().message;
}

TEST_F(TestDriverSnapshots, MetadataOnlyDeleteIsATypedUnsupportedErrorAndDeletesNothing) {
  create("a");
  auto error = libvirt_->deleteSnapshot(kDomain, "a", {DeleteScope::Snapshot, true});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, DriverErrorKind::Unsupported) << error->message;
  EXPECT_TRUE(listed().contains("a"));
}

TEST_F(TestDriverSnapshots, UnknownDomainAndSnapshotAreNotFound) {
  auto listing = libvirt_->listSnapshots("no-such-domain");
  ASSERT_FALSE(listing.has_value());
  EXPECT_EQ(listing.error().kind, DriverErrorKind::NotFound);
  auto error = libvirt_->revertToSnapshot(kDomain, "no-such-snapshot", RevertOptions{});
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, DriverErrorKind::NotFound);
}

TEST(TestDriverConnection, ABadUriIsAnErrorValue) {
  LibvirtDriverOptions options;
  options.uri = "nosuchdriver:///nowhere";
  LibvirtDriver driver(options);
  auto caps = driver.capabilities();
  ASSERT_FALSE(caps.has_value());
  EXPECT_FALSE(caps.error().message.empty());
}

// Thousands of random creates, reverts and deletes (plain, CHILDREN, CHILDREN_ONLY), each applied to
// libvirt and to the model; after every step parents, children and current must be identical.
// A failure prints the seed and the whole sequence.
class Differential : public TestDriverSnapshots, public ::testing::WithParamInterface<unsigned> {};

TEST_P(Differential, ModelAndTestDriverAgreeAfterEveryStep) {
  const unsigned seed = GetParam();
  std::mt19937 rng(seed);
  SnapshotTree model;
  std::ostringstream sequence;
  int next = 0;
  for (int step = 0; step < 1500; ++step) {
    const auto all = model.topologicalOrder();
    const int roll = std::uniform_int_distribution<int>(0, 19)(rng);
    if (all.empty() || roll < 8) {
      const std::string name = "s" + std::to_string(next++);
      sequence << "create " << name << "\n";
      SnapshotRequest request;
      request.name = name;
      auto made = libvirt_->createSnapshot(kDomain, request);
      ASSERT_TRUE(made.has_value()) << made.error().message;
      ASSERT_TRUE(model.create(made.value().record()).has_value());
    } else {
      const std::string target = all[std::uniform_int_distribution<std::size_t>(0, all.size() - 1)(rng)].name;
      if (roll < 13) {
        sequence << "revert " << target << "\n";
        ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, target, RevertOptions{}), std::nullopt);
        ASSERT_EQ(model.revert(target), std::nullopt);
      } else {
        const DeleteScope scope = roll < 17   ? DeleteScope::Snapshot
                                  : roll < 19 ? DeleteScope::Children
                                              : DeleteScope::ChildrenOnly;
        sequence << "delete " << target << " scope " << static_cast<int>(scope) << "\n";
        ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, target, {scope, false}), std::nullopt);
        ASSERT_TRUE(model.remove(target, {scope, false}).has_value());
      }
    }
    const SnapshotTree hypervisor = listed();
    ASSERT_EQ(model.current(), hypervisor.current())
        << "seed " << seed << ", step " << step << ", sequence:\n"
        << sequence.str();
    ASSERT_EQ(model.topologicalOrder(), hypervisor.topologicalOrder())
        << "seed " << seed << ", step " << step << ", sequence:\n"
        << sequence.str();
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Differential, ::testing::Values(1u, 2u, 3u, 20261122u));

}  // namespace
}  // namespace virtsnap::drivers::libvirt
