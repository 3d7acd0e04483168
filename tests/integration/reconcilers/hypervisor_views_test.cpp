// The per-domain hypervisor view on libvirt's test driver (test:///default, in-process): a refresh
// lists the tree's shape and fetches only the definitions that are new or whose neighbourhood moved,
// and after every create, revert, delete and redefine the view must equal a full listing (every
// definition parsed again), tree positions included.

#include "reconcilers/hypervisor_views.h"

#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/driver_printers.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::reconcilers {
namespace {

using drivers::DeleteScope;
using drivers::RevertOptions;
using drivers::SnapshotRequest;
using drivers::libvirt::LibvirtDriver;
using drivers::libvirt::LibvirtDriverOptions;
using ::testing::HasSubstr;

constexpr const char* kUri = "test:///default";
constexpr const char* kDomain = "test";  // the test driver's built-in running domain

void quiet(void* /*unused*/, virErrorPtr /*unused*/) {}

class ViewOnTestDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    LibvirtDriverOptions options;
    options.uri = kUri;
    options.revertSpacing = std::chrono::milliseconds(0);  // the test driver writes no overlay files
    libvirt_ = std::make_unique<LibvirtDriver>(options);
    views_ = std::make_unique<HypervisorViews>(*libvirt_, clock_);
  }

  void create(const std::string& name) {
    SnapshotRequest request;
    request.name = name;
    auto made = libvirt_->createSnapshot(kDomain, request);
    ASSERT_TRUE(made.has_value()) << made.error().message;
  }

  ViewChange refresh() {
    auto access = views_->access(kDomain);
    auto change = views_->refresh(access);
    EXPECT_TRUE(change.has_value()) << change.error().message;
    return change.value_or(ViewChange{});
  }

  // What a full listing (every definition fetched and parsed) says, against the view; empty when equal.
  std::string differenceFromFullListing() {
    auto listing = libvirt_->listSnapshots(kDomain);
    if (!listing) {
      return "listing failed: " + listing.error().message;
    }
    std::vector<drivers::SnapshotRecord> records;
    for (const auto& def : listing->snapshots) {
      records.push_back(def.record());
    }
    drivers::SnapshotTree tree;
    tree.rebuild(records, listing->current);
    auto access = views_->access(kDomain);
    const DomainView& view = access.view();
    std::ostringstream out;
    if (view.tree.current() != listing->current) {
      out << "current: view " << view.tree.current().value_or("-") << ", listing "
          << listing->current.value_or("-") << "\n";
    }
    if (view.definitions.size() != listing->snapshots.size()) {
      out << "view has " << view.definitions.size() << " definitions, listing " << listing->snapshots.size()
          << "\n";
    }
    for (const auto& def : listing->snapshots) {
      auto held = view.definitions.find(def.name);
      if (held == view.definitions.end()) {
        out << def.name << ": not in the view\n";
        continue;
      }
      const ViewedDefinition& viewedDefinition = held->second;
      if (viewedDefinition.xmlDigest != definitionDigest(def.xml) || viewedDefinition.parent != def.parent ||
          viewedDefinition.location != def.location || viewedDefinition.creationTime != def.creationTime ||
          viewedDefinition.state != def.state || viewedDefinition.memory != def.memory ||
          viewedDefinition.disks != def.disks) {
        out << def.name << ": definition differs from the listing's:\n" << def.xml << "\n";
      }
    }
    if (view.positions != positionsOf(tree)) {
      out << "tree positions differ\n";
    }
    if (view.tree.topologicalOrder() != tree.topologicalOrder()) {
      out << "trees differ\n";
    }
    return out.str();
  }

  // Redefines an existing snapshot in place from its own XML with another description, as
  // `virsh snapshot-edit` does (or `snapshot-create --redefine --current` when `current`).
  void redefineInPlace(const std::string& name, const std::string& description, bool current) {
    auto xml = libvirt_->snapshotXml(kDomain, name);
    ASSERT_TRUE(xml.has_value()) << xml.error().message;
    std::string edited = xml.value();
    const auto at = edited.find("<description>");
    if (at != std::string::npos) {
      edited.erase(at, edited.find("</description>") + std::string("</description>").size() - at);
    }
    edited.insert(edited.find("</name>") + std::string("</name>").size(),
                  "<description>" + description + "</description>");
    virSetErrorFunc(nullptr, quiet);
    virConnectPtr conn = virConnectOpen(kUri);
    ASSERT_NE(conn, nullptr);
    virDomainPtr dom = virDomainLookupByName(conn, kDomain);
    ASSERT_NE(dom, nullptr);
    unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    if (current) {
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    }
    virDomainSnapshotPtr made = virDomainSnapshotCreateXML(dom, edited.c_str(), flags);
    const virErrorPtr error = made == nullptr ? virGetLastError() : nullptr;
    const std::string message = error != nullptr && error->message != nullptr ? error->message : "";
    if (made != nullptr) {
      virDomainSnapshotFree(made);
    }
    virDomainFree(dom);
    virConnectClose(conn);
    ASSERT_TRUE(made != nullptr) << "redefining " << name << ": " << message;
  }

  std::unique_ptr<LibvirtDriver> libvirt_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::unique_ptr<HypervisorViews> views_;
};

TEST_F(ViewOnTestDriver, ARefreshWithNothingChangedFetchesNoDefinition) {
  create("a");
  create("b");
  create("c");
  EXPECT_EQ(refresh().definitionsFetched, 3U);
  const auto firstListing = clock_->now();
  clock_->advance(std::chrono::seconds(1));
  const ViewChange again = refresh();
  EXPECT_EQ(again.definitionsFetched, 0U);
  EXPECT_FALSE(again.treeChanged());
  EXPECT_EQ(differenceFromFullListing(), "");
  // The tree's date is the listing that changed it, not the one that found it the same.
  auto access = views_->access(kDomain);
  EXPECT_EQ(access.view().changedAt, firstListing);
  EXPECT_EQ(access.view().refreshedAt, clock_->now());
}

TEST_F(ViewOnTestDriver, ACreateFetchesTheNewSnapshotAndItsMovedNeighboursOnly) {
  for (int i = 0; i < 20; ++i) {
    create("s" + std::to_string(i));
  }
  refresh();
  create("new");  // a child of s19, which was current: s19's children and current mark moved
  const ViewChange change = refresh();
  EXPECT_EQ(change.definitionsFetched, 2U);
  EXPECT_TRUE(change.changed.contains("new"));
  EXPECT_EQ(differenceFromFullListing(), "");
}

TEST_F(ViewOnTestDriver, ARedefinitionThatMovesCurrentIsFetchedAgain) {
  create("a");
  create("b");
  refresh();
  redefineInPlace("a", "edited", true);
  const ViewChange change = refresh();
  EXPECT_EQ(change.definitionsFetched, 2U);  // a became current, b is not any more
  EXPECT_EQ(differenceFromFullListing(), "");
  auto access = views_->access(kDomain);
  auto edited = libvirt_->snapshotXml(kDomain, "a");
  ASSERT_TRUE(edited.has_value());
  EXPECT_THAT(edited.value(), HasSubstr("<description>edited</description>"));
  EXPECT_EQ(access.view().definitions.at("a").xmlDigest, definitionDigest(edited.value()));
}

// `virsh snapshot-edit` of a description moves nothing in the tree, so a listing does not fetch it;
// the reader that finds its recorded XML unlike libvirt's describes it, and the view keeps that.
TEST_F(ViewOnTestDriver, ADescriptionEditedOutsideVirtsnapIsKeptOnceDescribed) {
  create("a");
  create("b");
  refresh();
  redefineInPlace("a", "edited", false);
  EXPECT_EQ(refresh().definitionsFetched, 0U);
  EXPECT_NE(differenceFromFullListing(), "");  // the view's digest of a is libvirt's former XML
  {
    auto access = views_->access(kDomain);
    auto described = views_->describe(access, "a");
    ASSERT_TRUE(described.has_value()) << described.error().message;
    EXPECT_THAT(described->xml, HasSubstr("<description>edited</description>"));
    EXPECT_EQ(access.view().definitions.at("a").xmlDigest, definitionDigest(described->xml));
    auto missing = views_->describe(access, "nope");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, drivers::DriverErrorKind::NotFound);
  }
  EXPECT_EQ(differenceFromFullListing(), "");
}

TEST_F(ViewOnTestDriver, ABulkRedefineAfterLostMetadataIsFetchedAgain) {
  create("a");
  create("b");
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "a", RevertOptions{}), std::nullopt);
  create("c");
  refresh();
  auto listing = libvirt_->listSnapshots(kDomain);
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, "a", {DeleteScope::Children, false}), std::nullopt);
  EXPECT_EQ(refresh().changed.size(), 3U);
  EXPECT_EQ(differenceFromFullListing(), "");
  ASSERT_EQ(libvirt_->redefineSnapshots(kDomain, listing->snapshots, "b"), std::nullopt);
  EXPECT_EQ(refresh().definitionsFetched, 3U);
  EXPECT_EQ(differenceFromFullListing(), "");
}

TEST_F(ViewOnTestDriver, AnOwnCreateIsAppliedWithoutListingTheTree) {
  for (int i = 0; i < 20; ++i) {
    create("s" + std::to_string(i));
  }
  refresh();
  clock_->advance(std::chrono::seconds(1));
  {
    auto access = views_->access(kDomain);
    const auto listedAt = access.view().refreshedAt;
    SnapshotRequest request;
    request.name = "new";
    auto made = libvirt_->createSnapshot(kDomain, request);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    auto change = views_->applyCreated(access, *made);
    ASSERT_TRUE(change.has_value()) << change.error().message;
    EXPECT_EQ(change->changed, (std::set<std::string>{"new", "s19"}));
    EXPECT_EQ(change->definitionsFetched, 0U);          // s19, the former current, is internal: its XML stays
    EXPECT_EQ(access.view().refreshedAt, listedAt);     // no listing
    EXPECT_EQ(access.view().changedAt, clock_->now());  // yet the tree moved now
  }
  EXPECT_EQ(differenceFromFullListing(), "");
}

TEST_F(ViewOnTestDriver, AnOwnCreateAfterARevertOutsideVirtsnapListsTheTree) {
  create("a");
  create("b");
  refresh();
  ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, "a", RevertOptions{}), std::nullopt);  // unseen by the view
  SnapshotRequest request;
  request.name = "c";
  auto made = libvirt_->createSnapshot(kDomain, request);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  {
    auto access = views_->access(kDomain);
    auto change = views_->applyCreated(access, *made);
    ASSERT_TRUE(change.has_value()) << change.error().message;
    EXPECT_EQ(access.view().tree.parentOf("c"), "a");
  }
  EXPECT_EQ(differenceFromFullListing(), "");
}

TEST_F(ViewOnTestDriver, AnOwnDeletionFetchesTheMovedNeighboursOnly) {
  for (int i = 0; i < 20; ++i) {
    create("s" + std::to_string(10 + i));
  }
  refresh();
  clock_->advance(std::chrono::seconds(1));
  {
    auto access = views_->access(kDomain);
    const auto listedAt = access.view().refreshedAt;
    ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, "s15", {}), std::nullopt);
    auto change = views_->applyDeleted(access, "s15", {});
    ASSERT_TRUE(change.has_value()) << change.error().message;
    EXPECT_EQ(change->definitionsFetched,
              1U);                           // s16 (a new parent); not s14: internal, only its children moved
    EXPECT_EQ(change->changed.size(), 16U);  // s14, s15 and every snapshot below s15 (one level up)
    EXPECT_EQ(access.view().refreshedAt, listedAt);
    EXPECT_EQ(access.view().changedAt, clock_->now());
  }
  EXPECT_EQ(differenceFromFullListing(), "");
}

// Random own creates and deletions applied to the view (as the agent does), mixed with reverts made
// outside virtsnap that the next own operation must notice, and deletions made outside virtsnap that
// the next refresh (the Domain's poll) sees; after every own operation the view equals a full listing.
class ViewOwnOperations : public ViewOnTestDriver, public ::testing::WithParamInterface<unsigned> {};

TEST_P(ViewOwnOperations, AppliedOperationsKeepTheViewEqualToAFullListing) {
  const unsigned seed = GetParam();
  std::mt19937 rng(seed);
  std::ostringstream sequence;
  int next = 0;
  std::size_t listings = 0;
  refresh();
  for (int step = 0; step < 300; ++step) {
    std::optional<HypervisorViews::Access> held(views_->access(kDomain));
    HypervisorViews::Access& access = *held;
    const auto listedAt = access.view().refreshedAt;
    std::vector<std::string> names;
    for (const auto& [name, definition] : access.view().definitions) {
      names.push_back(name);
    }
    const int roll = std::uniform_int_distribution<int>(0, 19)(rng);
    if (names.empty() || roll < 10) {
      SnapshotRequest request;
      request.name = "s" + std::to_string(next++);
      sequence << "own create " << request.name << "\n";
      auto made = libvirt_->createSnapshot(kDomain, request);
      ASSERT_TRUE(made.has_value()) << made.error().message;
      auto change = views_->applyCreated(access, *made);
      ASSERT_TRUE(change.has_value()) << change.error().message;
    } else {
      const std::string target = names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(rng)];
      const DeleteScope scope = roll < 15   ? DeleteScope::Snapshot
                                : roll < 16 ? DeleteScope::Children
                                            : DeleteScope::ChildrenOnly;
      if (roll < 17) {
        sequence << "own delete " << target << " scope " << static_cast<int>(scope) << "\n";
        ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, target, {scope, false}), std::nullopt);
        auto change = views_->applyDeleted(access, target, {scope, false});
        ASSERT_TRUE(change.has_value()) << change.error().message;
      } else if (roll < 19) {
        // Unseen by the view until its next own operation, whose answer contradicts it (a created
        // snapshot under another parent, another current snapshot after a deletion): it lists.
        sequence << "outside revert " << target << "\n";
        ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, target, RevertOptions{}), std::nullopt);
        held.reset();
        continue;
      } else {
        sequence << "outside delete " << target << ", then a refresh (the poll)\n";
        ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, target, {}), std::nullopt);
        auto change = views_->refresh(access);
        ASSERT_TRUE(change.has_value()) << change.error().message;
      }
    }
    if (access.view().refreshedAt != listedAt) {
      ++listings;
    }
    held.reset();
    const std::string difference = differenceFromFullListing();
    ASSERT_EQ(difference, "") << "seed " << seed << ", step " << step << ", sequence:\n" << sequence.str();
  }
  // Own operations list nothing; the listings are the refreshes after outside changes.
  EXPECT_LT(listings, 60U) << "seed " << seed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ViewOwnOperations, ::testing::Values(1U, 2U, 20261207U));

// Random creates, reverts, deletes (plain, CHILDREN, CHILDREN_ONLY), in-place redefines and whole-tree
// redefines after a loss; after every step the view (refreshed by shape) equals a full listing. A
// failure prints the seed and the whole sequence.
class ViewDifferential : public ViewOnTestDriver, public ::testing::WithParamInterface<unsigned> {};

TEST_P(ViewDifferential, ViewEqualsAFullListingAfterEveryStep) {
  const unsigned seed = GetParam();
  std::mt19937 rng(seed);
  std::ostringstream sequence;
  int next = 0;
  std::size_t fetched = 0;
  std::size_t listed = 0;
  for (int step = 0; step < 300; ++step) {
    std::vector<std::string> names;
    {
      auto access = views_->access(kDomain);
      for (const auto& [name, definition] : access.view().definitions) {
        names.push_back(name);
      }
    }
    const int roll = std::uniform_int_distribution<int>(0, 19)(rng);
    if (names.empty() || roll < 8) {
      const std::string name = "s" + std::to_string(next++);
      sequence << "create " << name << "\n";
      ASSERT_NO_FATAL_FAILURE(create(name));
    } else {
      const std::string target = names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(rng)];
      if (roll < 12) {
        sequence << "revert " << target << "\n";
        ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, target, RevertOptions{}), std::nullopt);
      } else if (roll < 16) {
        const DeleteScope scope = roll < 14   ? DeleteScope::Snapshot
                                  : roll < 15 ? DeleteScope::Children
                                              : DeleteScope::ChildrenOnly;
        sequence << "delete " << target << " scope " << static_cast<int>(scope) << "\n";
        ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, target, {scope, false}), std::nullopt);
      } else if (roll < 19) {
        // Redefined in place with other content and made current (a redefine that moves nothing in
        // the tree is the one change a refresh does not see; hypervisor_views.h says so). On the
        // current snapshot itself it is a revert.
        if (views_->access(kDomain).view().tree.current() == target) {
          sequence << "revert " << target << "\n";
          ASSERT_EQ(libvirt_->revertToSnapshot(kDomain, target, RevertOptions{}), std::nullopt);
        } else {
          sequence << "redefine " << target << " current\n";
          ASSERT_NO_FATAL_FAILURE(redefineInPlace(target, "step " + std::to_string(step), true));
        }
      } else {
        // The metadata is lost and the whole tree redefined from a full listing taken before.
        auto listing = libvirt_->listSnapshots(kDomain);
        ASSERT_TRUE(listing.has_value()) << listing.error().message;
        sequence << "lose and redefine all\n";
        auto roots = views_->access(kDomain).view().tree.roots();
        for (const std::string& root : roots) {
          ASSERT_EQ(libvirt_->deleteSnapshot(kDomain, root, {DeleteScope::Children, false}), std::nullopt);
        }
        if (roll % 2 == 1) {
          refresh();  // the view sees the loss (as the agent's poll may) or not
        }
        ASSERT_EQ(libvirt_->redefineSnapshots(kDomain, listing->snapshots, listing->current), std::nullopt);
      }
    }
    const ViewChange change = refresh();
    fetched += change.definitionsFetched;
    listed += names.size();
    const std::string difference = differenceFromFullListing();
    ASSERT_EQ(difference, "") << "seed " << seed << ", step " << step << ", sequence:\n" << sequence.str();
  }
  // The whole point: far fewer definitions fetched than a full listing per refresh would.
  EXPECT_LT(fetched * 4, listed) << "seed " << seed << ": fetched " << fetched << " of " << listed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ViewDifferential, ::testing::Values(1U, 2U, 20261206U));

}  // namespace
}  // namespace virtsnap::reconcilers
