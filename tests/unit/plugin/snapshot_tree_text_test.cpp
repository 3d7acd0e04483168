// The tree text of kubectl virtsnap: virsh's layout byte for byte (the expected texts are what
// `virsh -q -c test:///default 'snapshot-create-as ...; snapshot-list test --tree'` printed with
// libvirt 9.0), and the marks for what virsh does not know.

#include "controller/plugin/snapshot_tree_text.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace virtsnap::plugin {
namespace {

using crds::Domain;
using crds::Snapshot;
using crds::SnapshotPhase;

TreeLine node(const std::string& name, std::optional<std::string> parent = std::nullopt) {
  return TreeLine{name, std::move(parent), name};
}

TEST(RenderVirshTree, ASingleSnapshotAsVirshPrintsIt) {
  EXPECT_EQ(renderVirshTree({node("a")}), "a\n\n");
}

TEST(RenderVirshTree, AChainAsVirshPrintsIt) {
  // snapshot-create-as a; b; c
  EXPECT_EQ(renderVirshTree({node("c", "b"), node("a"), node("b", "a")}),
            "a\n"
            "  |\n"
            "  +- b\n"
            "      |\n"
            "      +- c\n"
            "        \n");
}

TEST(RenderVirshTree, BranchesAsVirshPrintsThem) {
  // create a; create b; revert a; create c; create d; revert b; create e; create f
  EXPECT_EQ(renderVirshTree(
                {node("a"), node("b", "a"), node("c", "a"), node("d", "c"), node("e", "b"), node("f", "e")}),
            "a\n"
            "  |\n"
            "  +- b\n"
            "  |   |\n"
            "  |   +- e\n"
            "  |       |\n"
            "  |       +- f\n"
            "  |         \n"
            "  +- c\n"
            "      |\n"
            "      +- d\n"
            "        \n");
}

TEST(RenderVirshTree, ChildrenInVirshsCaseInsensitiveOrder) {
  // create B; revert B; create a; revert B; create C
  EXPECT_EQ(renderVirshTree({node("C", "B"), node("B"), node("a", "B")}),
            "B\n"
            "  |\n"
            "  +- a\n"
            "  +- C\n"
            "    \n");
}

TEST(RenderVirshTree, PrintsTheLabelAndTreatsAnUnknownParentAsARoot) {
  std::vector<TreeLine> nodes{TreeLine{"x", "gone", "x (orphan)"}, TreeLine{"y", "x", "y *"}};
  EXPECT_EQ(renderVirshTree(nodes),
            "x (orphan)\n"
            "  |\n"
            "  +- y *\n"
            "    \n");
}

TEST(RenderVirshTree, ParentsInACirclePrintEveryNodeOnce) {
  EXPECT_EQ(renderVirshTree({node("b", "a"), node("a", "b"), node("r")}),
            "r\n"
            "\n"
            "a\n"
            "  |\n"
            "  +- b\n"
            "    \n");
}

Domain domainWithTree(const std::vector<std::pair<std::string, std::optional<std::string>>>& entries,
                      std::optional<std::string> current) {
  Domain domain;
  domain.metadata.name = "web";
  domain.status.emplace();
  domain.status->snapshotTree.emplace();
  for (const auto& [name, parent] : entries) {
    crds::SnapshotTreeEntry entry;
    entry.name = name;
    entry.parent = parent;
    if (current == name) {
      entry.current = true;
    }
    domain.status->snapshotTree->push_back(entry);
  }
  domain.status->currentSnapshot = std::move(current);
  return domain;
}

Snapshot snapshot(const std::string& name, std::optional<SnapshotPhase> phase,
                  std::optional<std::string> parent = std::nullopt, bool current = false) {
  Snapshot s;
  s.metadata.name = name;
  s.spec.domainName = "web";
  if (phase) {
    s.status.emplace();
    s.status->phase = phase;
    s.status->parent = std::move(parent);
    s.status->current = current;
  }
  return s;
}

TEST(RenderDomainTree, MarksTheCurrentSnapshotPhasesAndBlockedDeletions) {
  const Domain domain =
      domainWithTree({{"s1", std::nullopt}, {"s2", "s1"}, {"s3", "s2"}, {"s4", "s1"}}, "s4");
  Snapshot blocked = snapshot("s2", SnapshotPhase::Deleting, "s1");
  blocked.status->deletionBlockedReason = "ExternalNotInActiveChain";
  blocked.status->conditions = std::vector<meta::Condition>{
      meta::Condition{"DeletionBlocked", meta::ConditionStatus::True, 1, "2026-01-01T00:00:00Z",
                      "ExternalNotInActiveChain", "s2 is off the active chain"}};
  const DomainTreeText text = renderDomainTree(
      domain, {snapshot("s1", SnapshotPhase::Ready), blocked, snapshot("s3", SnapshotPhase::Ready, "s2"),
               snapshot("s4", SnapshotPhase::Ready, "s1", true)});
  EXPECT_EQ(text.snapshots, 4U);
  EXPECT_EQ(text.text,
            "s1\n"
            "  |\n"
            "  +- s2 (Deleting, deletion blocked: ExternalNotInActiveChain)\n"
            "  |   |\n"
            "  |   +- s3\n"
            "  |     \n"
            "  +- s4 *\n"
            "    \n");
}

TEST(RenderDomainTree, ADeletionNotAskedForIsNotMarkedBlocked) {
  // status.deletionBlockedReason alone says a deletion would be refused; none was asked for.
  Snapshot s1 = snapshot("s1", SnapshotPhase::Ready);
  s1.status->deletable = false;
  s1.status->deletionBlockedReason = "ActiveExternalNotLeaf";
  EXPECT_EQ(renderDomainTree(domainWithTree({{"s1", std::nullopt}}, "s1"), {s1}).text, "s1 *\n\n");
}

TEST(RenderDomainTree, UnmanagedSnapshotsAndThoseNotOnTheHypervisorYet) {
  const Domain domain = domainWithTree({{"base", std::nullopt}, {"s1", "base"}}, "s1");
  Snapshot failed = snapshot("broken", SnapshotPhase::Failed);
  failed.status->conditions = std::vector<meta::Condition>{meta::Condition{
      "Stalled", meta::ConditionStatus::True, 1, "2026-01-01T00:00:00Z", "CreateFailed", "no space left"}};
  const DomainTreeText text = renderDomainTree(
      domain, {snapshot("s1", SnapshotPhase::Ready, "base", true), snapshot("next", std::nullopt),
               snapshot("s2", SnapshotPhase::Creating), failed});
  EXPECT_EQ(text.snapshots, 5U);
  EXPECT_EQ(text.text,
            "base (unmanaged)\n"
            "  |\n"
            "  +- s1 *\n"
            "    \n"
            "Not in the tree:\n"
            "  broken (Failed: no space left)\n"
            "  next (not yet seen by the agent)\n"
            "  s2 (Creating)\n");
}

TEST(RenderDomainTree, ASnapshotTheDomainsListDoesNotNameYetHangsUnderItsParent) {
  // The Snapshot's status was written before the Domain's.
  const Domain domain = domainWithTree({{"s1", std::nullopt}}, "s1");
  EXPECT_EQ(renderDomainTree(domain, {snapshot("s1", SnapshotPhase::Ready),
                                      snapshot("s2", SnapshotPhase::Ready, "s1", true)})
                .text,
            "s1 *\n"
            "  |\n"
            "  +- s2\n"
            "    \n");
}

TEST(RenderDomainTree, WithoutTheDomainsTreeTheSnapshotsTellParentsAndCurrent) {
  Domain domain;
  domain.metadata.name = "web";
  EXPECT_EQ(renderDomainTree(
                domain, {snapshot("b", SnapshotPhase::Ready, "a", true), snapshot("a", SnapshotPhase::Ready),
                         snapshot("c", SnapshotPhase::Ready, "a")})
                .text,
            "a\n"
            "  |\n"
            "  +- b *\n"
            "  +- c\n"
            "    \n");
}

TEST(RenderDomainTree, NoSnapshotsAtAll) {
  const DomainTreeText text = renderDomainTree(domainWithTree({}, std::nullopt), {});
  EXPECT_EQ(text.snapshots, 0U);
  EXPECT_EQ(text.text, "");
}

}  // namespace
}  // namespace virtsnap::plugin
