// The tree page's data (controller/agent/web/tree_page_model.h): which snapshots are drawn where, with
// which marks, from the Domain's status and the Snapshots' statuses as the agent's caches hold them;
// and the page's files as compiled into the binary.

#include "controller/agent/web/tree_page_model.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/agent/web/web_assets.h"
#include "reconcilers/agent_context.h"
#include "reconcilers/operation_order.h"

namespace virtsnap::agent::web {
namespace {

using crds::Domain;
using crds::Snapshot;
using crds::SnapshotPhase;
using nlohmann::json;
using ::testing::ElementsAre;

Domain domainWithTree(const std::vector<std::pair<std::string, std::optional<std::string>>>& entries,
                      std::optional<std::string> current, const std::string& name = "web") {
  Domain domain;
  domain.metadata.name = name;
  domain.metadata.namespaceName = "vms";
  domain.status.emplace();
  domain.status->state = crds::DomainState::Running;
  domain.status->snapshotTree.emplace();
  for (const auto& [entryName, parent] : entries) {
    crds::SnapshotTreeEntry entry;
    entry.name = entryName;
    entry.parent = parent;
    domain.status->snapshotTree->push_back(entry);
  }
  domain.status->currentSnapshot = std::move(current);
  return domain;
}

Snapshot snapshot(const std::string& name, std::optional<SnapshotPhase> phase,
                  std::optional<std::string> parent = std::nullopt, bool current = false,
                  const std::string& domain = "web") {
  Snapshot s;
  s.metadata.name = name;
  s.metadata.namespaceName = "vms";
  s.spec.domainName = domain;
  if (phase) {
    s.status.emplace();
    s.status->phase = phase;
    s.status->parent = std::move(parent);
    s.status->current = current;
  }
  return s;
}

meta::Condition trueCondition(const std::string& type, const std::string& reason,
                              const std::string& message) {
  return meta::Condition{type, meta::ConditionStatus::True, 1, "2026-01-01T00:00:00Z", reason, message};
}

// "name@column,row<parent" per node, in the page's order.
std::vector<std::string> placed(const DomainTreePage& page) {
  std::vector<std::string> lines;
  for (const auto& node : page.nodes) {
    std::ostringstream line;
    line << node.name << "@" << node.column << "," << node.row << "<" << node.parent.value_or("");
    lines.push_back(line.str());
  }
  return lines;
}

const TreePageNode& nodeNamed(const DomainTreePage& page, const std::string& name) {
  for (const auto& node : page.nodes) {
    if (node.name == name) {
      return node;
    }
  }
  ADD_FAILURE() << "no node " << name;
  static const TreePageNode kNone;
  return kNone;
}

TEST(TreePageLayout, TheQuickStartsBranchSitsBesideItsSiblingUnderTheirParent) {
  // a -> b -> c, reverted to b, then d: c and d are b's children.
  const Domain domain = domainWithTree({{"a", std::nullopt}, {"b", "a"}, {"c", "b"}, {"d", "b"}}, "d");
  const DomainTreePage page = layoutDomainTree(
      domain, {snapshot("a", SnapshotPhase::Ready), snapshot("b", SnapshotPhase::Ready, "a"),
               snapshot("c", SnapshotPhase::Ready, "b"), snapshot("d", SnapshotPhase::Ready, "b", true)});
  EXPECT_THAT(placed(page), ElementsAre("a@0.5,0<", "b@0.5,1<a", "c@0,2<b", "d@1,2<b"));
  EXPECT_EQ(page.columns, 2);
  EXPECT_EQ(page.rows, 3);
  EXPECT_EQ(page.currentSnapshot, "d");
  EXPECT_EQ(page.state, "Running");
  EXPECT_TRUE(nodeNamed(page, "d").current);
  EXPECT_FALSE(nodeNamed(page, "c").current);
  EXPECT_EQ(nodeNamed(page, "c").phase, "Ready");
}

TEST(TreePageLayout, LeavesTakeColumnsInVirshsNameOrderAndParentsCentreOverTheirChildren) {
  // r has children B (with two children of its own), a and c: virsh's order is a, B, c.
  const Domain domain = domainWithTree({{"r", std::nullopt},
                                        {"B", "r"},
                                        {"a", "r"},
                                        {"c", "r"},
                                        {"B2", "B"},
                                        {"B1", "B"},
                                        {"other-root", std::nullopt}},
                                       std::nullopt);
  const DomainTreePage page = layoutDomainTree(domain, {});
  EXPECT_THAT(placed(page), ElementsAre("other-root@0,0<", "r@2.5,0<", "a@1,1<r", "B@2.5,1<r", "B1@2,2<B",
                                        "B2@3,2<B", "c@4,1<r"));
  EXPECT_EQ(page.columns, 5);
  EXPECT_EQ(page.rows, 3);
  // No Snapshot objects: every node is on the hypervisor only.
  for (const auto& node : page.nodes) {
    EXPECT_FALSE(node.managed) << node.name;
    EXPECT_EQ(node.phase, "") << node.name;
  }
}

TEST(TreePageLayout, MarksPhasesFailuresBlockedDeletionsAndUnmanagedSnapshots) {
  const Domain domain = domainWithTree({{"base", std::nullopt}, {"s1", "base"}, {"s2", "s1"}}, "s2");
  Snapshot blocked = snapshot("s1", SnapshotPhase::Deleting, "base");
  blocked.status->deletionBlockedReason = "ExternalNotInActiveChain";
  blocked.status->conditions = std::vector<meta::Condition>{
      trueCondition("DeletionBlocked", "ExternalNotInActiveChain", "s1 is off the active chain")};
  Snapshot failed = snapshot("broken", SnapshotPhase::Failed);
  failed.status->conditions =
      std::vector<meta::Condition>{trueCondition("Stalled", "CreateFailed", "no space left")};
  Snapshot notBlocked = snapshot("s2", SnapshotPhase::Ready, "s1", true);
  notBlocked.status->deletionBlockedReason = "ActiveExternalNotLeaf";  // no deletion asked for
  const DomainTreePage page = layoutDomainTree(
      domain,
      {blocked, failed, notBlocked, snapshot("next", std::nullopt), snapshot("s3", SnapshotPhase::Creating)});

  // The tree, then the row below it: what is not on the hypervisor, by name, without edges.
  EXPECT_THAT(placed(page),
              ElementsAre("base@0,0<", "s1@0,1<base", "s2@0,2<s1", "broken@0,3<", "next@1,3<", "s3@2,3<"));
  EXPECT_EQ(page.rows, 4);
  EXPECT_EQ(page.columns, 3);
  EXPECT_FALSE(nodeNamed(page, "base").managed);
  EXPECT_TRUE(nodeNamed(page, "base").inTree);
  EXPECT_EQ(nodeNamed(page, "s1").deletionBlocked, "ExternalNotInActiveChain");
  EXPECT_EQ(nodeNamed(page, "s1").phase, "Deleting");
  EXPECT_EQ(nodeNamed(page, "s2").deletionBlocked, std::nullopt);
  EXPECT_TRUE(nodeNamed(page, "s2").current);
  EXPECT_FALSE(nodeNamed(page, "broken").inTree);
  EXPECT_EQ(nodeNamed(page, "broken").phase, "Failed");
  EXPECT_EQ(nodeNamed(page, "broken").message, "no space left");
  EXPECT_EQ(nodeNamed(page, "next").phase, "");
  EXPECT_TRUE(nodeNamed(page, "next").managed);
  EXPECT_EQ(nodeNamed(page, "s3").phase, "Creating");
}

TEST(TreePageLayout, ASnapshotTheDomainsListDoesNotNameYetHangsUnderItsParent) {
  const Domain domain = domainWithTree({{"s1", std::nullopt}}, "s1");
  const DomainTreePage page = layoutDomainTree(
      domain, {snapshot("s1", SnapshotPhase::Ready), snapshot("s2", SnapshotPhase::Ready, "s1", true)});
  EXPECT_THAT(placed(page), ElementsAre("s1@0,0<", "s2@0,1<s1"));
  EXPECT_TRUE(nodeNamed(page, "s1").current);  // the Domain's word on current wins
  EXPECT_FALSE(nodeNamed(page, "s2").current);
}

TEST(TreePageLayout, WithoutTheDomainsTreeTheSnapshotsTellParentsAndCurrent) {
  Domain domain;
  domain.metadata.name = "web";
  const DomainTreePage page = layoutDomainTree(
      domain, {snapshot("b", SnapshotPhase::Ready, "a", true), snapshot("a", SnapshotPhase::Ready),
               snapshot("c", SnapshotPhase::Ready, "a")});
  EXPECT_THAT(placed(page), ElementsAre("a@0.5,0<", "b@0,1<a", "c@1,1<a"));
  EXPECT_EQ(page.currentSnapshot, "b");
  EXPECT_TRUE(nodeNamed(page, "b").current);
  EXPECT_EQ(page.state, "");
}

TEST(TreePageLayout, ParentsInACircleAndUnknownParentsPlaceEveryNodeOnce) {
  const Domain domain = domainWithTree(
      {{"b", "a"}, {"a", "b"}, {"c", "a"}, {"self", "self"}, {"orphan", "gone"}}, std::nullopt);
  const DomainTreePage page = layoutDomainTree(domain, {});
  // orphan and self are roots (an unknown parent, their own parent); the circle is cut at its first name.
  EXPECT_THAT(placed(page), ElementsAre("orphan@0,0<", "self@1,0<", "a@2.5,0<", "b@2,1<a", "c@3,1<a"));
}

TEST(TreePageLayout, ALongChainIsOneColumnOfRows) {
  std::vector<std::pair<std::string, std::optional<std::string>>> entries{{"s0", std::nullopt}};
  for (int i = 1; i < 20000; ++i) {
    entries.emplace_back("s" + std::to_string(i), "s" + std::to_string(i - 1));
  }
  const DomainTreePage page = layoutDomainTree(domainWithTree(entries, "s19999"), {});
  ASSERT_EQ(page.nodes.size(), 20000U);
  EXPECT_EQ(page.rows, 20000);
  EXPECT_EQ(page.columns, 1);
  EXPECT_EQ(page.nodes.back().name, "s19999");
  EXPECT_EQ(page.nodes.back().row, 19999);
  EXPECT_TRUE(page.nodes.back().current);
}

TEST(TreePageLayout, NoSnapshotsAtAll) {
  const DomainTreePage page = layoutDomainTree(domainWithTree({}, std::nullopt), {});
  EXPECT_TRUE(page.nodes.empty());
  EXPECT_EQ(page.columns, 0);
  EXPECT_EQ(page.rows, 0);
}

TEST(TreePageJson, CarriesEveryMarkAndLeavesOutWhatIsAbsent) {
  const Domain domain = domainWithTree({{"s1", std::nullopt}, {"s2", "s1"}}, "s2");
  Snapshot s1 = snapshot("s1", SnapshotPhase::Ready);
  s1.status->deletionBlockedReason = "HasChildren";
  s1.status->conditions =
      std::vector<meta::Condition>{trueCondition("DeletionBlocked", "HasChildren", "children first")};
  const json page = toJson(layoutDomainTree(domain, {s1, snapshot("s2", SnapshotPhase::Ready, "s1", true)}));
  EXPECT_EQ(page, json::parse(R"({
    "namespace": "vms", "name": "web", "state": "Running", "currentSnapshot": "s2", "columns": 1, "rows": 2,
    "snapshots": [
      {"name": "s1", "inTree": true, "managed": true, "current": false, "phase": "Ready", "column": 0.0,
       "row": 0, "deletionBlocked": "HasChildren"},
      {"name": "s2", "inTree": true, "managed": true, "current": true, "phase": "Ready", "column": 0.0,
       "row": 1, "parent": "s1"}]})"))
      << page.dump(2);
}

kube::Indexers byDomain() {
  return {{reconcilers::kByDomainIndex, [](const json& object) -> std::vector<std::string> {
             return {reconcilers::domainKeyOf(object)};
           }}};
}

TEST(TreePageData, EachDomainWithItsOwnSnapshotsFromTheCaches) {
  kube::ObjectCache domains;
  kube::ObjectCache snapshots(byDomain(), kube::CacheStorage::Packed);
  domains.upsert(
      std::make_shared<json>(crds::encodeDomain(domainWithTree({{"a", std::nullopt}}, "a", "web"))));
  domains.upsert(std::make_shared<json>(crds::encodeDomain(domainWithTree({}, std::nullopt, "db"))));
  // One the decoder refuses: skipped, the others still shown.
  domains.upsert(std::make_shared<json>(
      json{{"metadata", {{"name", "bad"}, {"namespace", "vms"}}}, {"spec", {{"vcpus", "many"}}}}));
  snapshots.upsert(std::make_shared<json>(crds::encodeSnapshot(snapshot("a", SnapshotPhase::Ready))));
  snapshots.upsert(std::make_shared<json>(
      crds::encodeSnapshot(snapshot("pending", std::nullopt, std::nullopt, false, "db"))));

  const json data = treePageData(domains, snapshots, true);
  EXPECT_EQ(data["synced"], true);
  ASSERT_EQ(data["domains"].size(), 2U) << data.dump(2);
  EXPECT_EQ(data["domains"][0]["name"], "db");
  ASSERT_EQ(data["domains"][0]["snapshots"].size(), 1U);
  EXPECT_EQ(data["domains"][0]["snapshots"][0]["name"], "pending");
  EXPECT_EQ(data["domains"][0]["snapshots"][0]["inTree"], false);
  EXPECT_EQ(data["domains"][1]["name"], "web");
  ASSERT_EQ(data["domains"][1]["snapshots"].size(), 1U);
  EXPECT_EQ(data["domains"][1]["snapshots"][0]["name"], "a");
  EXPECT_EQ(data["domains"][1]["snapshots"][0]["current"], true);

  EXPECT_EQ(treePageData(kube::ObjectCache(), snapshots, false),
            json::parse(R"({"synced": false, "domains": []})"));
}

std::string sourceFile(const std::string& name) {
  std::ifstream in(std::filesystem::path(VIRTSNAP_SOURCE_DIR) / "controller/agent/web" / name,
                   std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TreePageFiles, TheBinaryCarriesTheFilesAsTheyAre) {
  EXPECT_EQ(kTreeHtml, sourceFile("tree.html"));
  EXPECT_EQ(kTreeJs, sourceFile("tree.js"));
  EXPECT_EQ(kTreeCss, sourceFile("tree.css"));
  EXPECT_FALSE(kTreeJs.empty());
}

TEST(TreePageFiles, TheScriptBuildsTheDrawingWithoutMarkupAndThePageHasNothingInline) {
  // Names come from users: they reach the page as text nodes and attribute values only.
  for (const char* markupSink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
    EXPECT_EQ(kTreeJs.find(markupSink), std::string_view::npos) << markupSink;
  }
  EXPECT_NE(kTreeJs.find("createElementNS"), std::string_view::npos);
  // The Content-Security-Policy admits no inline script or style: the page must need none.
  EXPECT_EQ(kTreeHtml.find("<script>"), std::string_view::npos);
  EXPECT_EQ(kTreeHtml.find("<style"), std::string_view::npos);
  EXPECT_EQ(kTreeHtml.find("style="), std::string_view::npos);
  EXPECT_EQ(kTreeHtml.find("onload="), std::string_view::npos);
}

}  // namespace
}  // namespace virtsnap::agent::web
