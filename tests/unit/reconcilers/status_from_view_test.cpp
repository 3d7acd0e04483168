// What the status of each kind reports of a domain's hypervisor view (reconcilers/status_from_view.h).
#include "reconcilers/status_from_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::reconcilers {
namespace {

using ::testing::ElementsAre;

drivers::SnapshotDefinition definition(
    const std::string& name, std::optional<std::string> parent,
    drivers::SnapshotLocation location = drivers::SnapshotLocation::Internal) {
  drivers::SnapshotDefinition out;
  out.name = name;
  out.parent = std::move(parent);
  out.location = location;
  out.state = "running";
  out.memory = "internal";
  out.creationTime = 1767225600;  // 2026-01-01T00:00:00Z
  out.disks = {{"vdb", "internal", ""}, {"vda", "internal", ""}};
  out.xml = "<domainsnapshot><name>" + name + "</name></domainsnapshot>";
  return out;
}

// a -> b -> c, then a revert to a and d: a branch.
DomainView branchedView() {
  DomainView view;
  view.loaded = true;
  for (auto def :
       {definition("a", std::nullopt), definition("b", "a"), definition("c", "b"), definition("d", "a")}) {
    view.definitions.emplace(def.name, viewed(def));
  }
  std::vector<drivers::SnapshotRecord> records;
  for (const auto& [name, def] : view.definitions) {
    records.push_back(drivers::SnapshotRecord{name, def.parent, def.location});
  }
  view.tree.rebuild(records, std::string("d"));
  view.positions = positionsOf(view.tree);
  return view;
}

TEST(SnapshotStatusFromView, ReportsThePlaceInTheTreeAndWhatTheDefinitionSays) {
  DomainView view = branchedView();
  crds::SnapshotStatus status;
  applyTreeFacts(status, view.positions.at("a"), view.definitions.at("a"),
                 crds::SnapshotDeletionPolicy::Delete);
  EXPECT_EQ(status.parent, std::nullopt);
  EXPECT_THAT(*status.children, ElementsAre("b", "d"));
  EXPECT_EQ(status.current, false);
  EXPECT_EQ(status.depth, 0);
  EXPECT_EQ(status.creationTime, "2026-01-01T00:00:00Z");
  EXPECT_EQ(status.domainState, crds::SnapshotDomainState::Running);
  EXPECT_EQ(status.location, crds::SnapshotLocation::Internal);
  EXPECT_EQ(status.memory, true);
  ASSERT_EQ(status.disks->size(), 2U);
  EXPECT_EQ((*status.disks)[0].name, "vda");   // sorted
  EXPECT_EQ(status.definition, std::nullopt);  // the view keeps the XML's digest, not the XML
  EXPECT_EQ(status.deletable, true);

  crds::SnapshotStatus d;
  applyTreeFacts(d, view.positions.at("d"), view.definitions.at("d"), crds::SnapshotDeletionPolicy::Delete);
  EXPECT_EQ(d.parent, "a");
  EXPECT_EQ(d.current, true);
  EXPECT_EQ(d.depth, 1);
}

TEST(SnapshotStatusFromView, AnExternalSnapshotWithTwoChildrenIsNotDeletableUnlessOnlyItsMetadataGoes) {
  DomainView view;
  view.definitions.emplace("a", viewed(definition("a", std::nullopt, drivers::SnapshotLocation::External)));
  view.definitions.emplace("b", viewed(definition("b", "a", drivers::SnapshotLocation::External)));
  view.definitions.emplace("c", viewed(definition("c", "a", drivers::SnapshotLocation::External)));
  std::vector<drivers::SnapshotRecord> records;
  for (const auto& [name, def] : view.definitions) {
    records.push_back(drivers::SnapshotRecord{name, def.parent, def.location});
  }
  view.tree.rebuild(records, std::string("c"));
  view.positions = positionsOf(view.tree);
  crds::SnapshotStatus status;
  applyTreeFacts(status, view.positions.at("a"), view.definitions.at("a"),
                 crds::SnapshotDeletionPolicy::Delete);
  EXPECT_EQ(status.deletable, false);
  EXPECT_EQ(status.deletionBlockedReason, "ExternalWithMultipleChildren");
  applyTreeFacts(status, view.positions.at("a"), view.definitions.at("a"),
                 crds::SnapshotDeletionPolicy::MetadataOnly);
  EXPECT_EQ(status.deletable, true);
  EXPECT_EQ(status.deletionBlockedReason, std::nullopt);
}

TEST(DomainStatusFromView, ReportsTheTreeTopologicallyAndTheUnmanagedSnapshots) {
  DomainView view = branchedView();
  crds::DomainStatus status;
  applyTreeFacts(status, view, {"a", "b", "d"}, true);
  EXPECT_EQ(status.currentSnapshot, "d");
  EXPECT_EQ(status.snapshotCount, 4);
  std::vector<std::string> lines;
  for (const auto& entry : *status.snapshotTree) {
    lines.push_back(entry.name + "<" + entry.parent.value_or("") + ">" +
                    (entry.current.value_or(false) ? "*" : ""));
  }
  EXPECT_THAT(lines, ElementsAre("a<>", "b<a>", "c<b>", "d<a>*"));
  EXPECT_THAT(*status.unmanagedSnapshots, ElementsAre("c"));
  applyTreeFacts(status, view, {"a", "b", "d"}, false);
  EXPECT_EQ(status.unmanagedSnapshots, std::nullopt);
}

TEST(HypervisorViewPositions, ChangeOnlyWhereTheTreeChanged) {
  DomainView view = branchedView();
  drivers::SnapshotTree tree;
  std::vector<drivers::SnapshotRecord> records;
  for (const auto& [name, def] : view.definitions) {
    records.push_back(drivers::SnapshotRecord{name, def.parent, def.location});
  }
  tree.rebuild(records, std::string("d"));
  ASSERT_TRUE(tree.create(drivers::SnapshotRecord{"e", std::nullopt, drivers::SnapshotLocation::Internal}));
  auto after = positionsOf(tree);
  // e is new, d is no longer current and has a child; a, b and c are where they were.
  EXPECT_EQ(after.at("a"), view.positions.at("a"));
  EXPECT_EQ(after.at("b"), view.positions.at("b"));
  EXPECT_EQ(after.at("c"), view.positions.at("c"));
  EXPECT_NE(after.at("d"), view.positions.at("d"));
  EXPECT_THAT(after.at("d").children, ElementsAre("e"));
}

}  // namespace
}  // namespace virtsnap::reconcilers
