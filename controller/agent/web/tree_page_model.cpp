#include "controller/agent/web/tree_page_model.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

#include "base/enum_names.h"
#include "base/virsh_name_order.h"
#include "reconcilers/agent_context.h"

namespace virtsnap::agent::web {

namespace {

using nlohmann::json;

// On the hypervisor by its own account: Ready or Deleting.
bool onHypervisor(const crds::Snapshot& snapshot) {
  if (!snapshot.status || !snapshot.status->phase) {
    return false;
  }
  const auto phase = *snapshot.status->phase;
  return phase == crds::SnapshotPhase::Ready || phase == crds::SnapshotPhase::Deleting;
}

// Places the tree's nodes (the first `count` of `nodes`, whose `parent` is still the reported one):
// sets column and row, keeps `parent` only where the edge is drawn, and returns them in pre-order.
// Iterative, so a long chain of snapshots costs no stack.
std::vector<TreePageNode> layoutTree(std::vector<TreePageNode> nodes, int& columns, int& rows) {
  std::sort(nodes.begin(), nodes.end(),
            [](const TreePageNode& a, const TreePageNode& b) { return virshNameLess(a.name, b.name); });
  std::unordered_map<std::string, std::size_t> byName;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    byName.emplace(nodes[i].name, i);
  }
  std::vector<std::optional<std::size_t>> parentOf(nodes.size());
  std::vector<std::vector<std::size_t>> children(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].parent) {
      if (auto it = byName.find(*nodes[i].parent); it != byName.end() && it->second != i) {
        parentOf[i] = it->second;
        children[it->second].push_back(i);  // in name order, as i runs in name order
      }
    }
  }

  struct Frame {
    std::size_t node;
    std::size_t nextChild = 0;
    std::vector<std::size_t> placedChildren;
  };
  std::vector<bool> visited(nodes.size(), false);
  std::vector<std::size_t> preOrder;
  int nextColumn = 0;
  int depthLimit = 0;
  const auto walk = [&](std::size_t root) {
    std::vector<Frame> stack;
    visited[root] = true;
    nodes[root].row = 0;
    nodes[root].parent.reset();
    preOrder.push_back(root);
    stack.push_back(Frame{root, 0, {}});
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const auto& kids = children[frame.node];
      while (frame.nextChild < kids.size() && visited[kids[frame.nextChild]]) {
        ++frame.nextChild;
      }
      if (frame.nextChild < kids.size()) {
        const std::size_t child = kids[frame.nextChild++];
        visited[child] = true;
        nodes[child].row = nodes[frame.node].row + 1;
        nodes[child].parent = nodes[frame.node].name;
        depthLimit = std::max(depthLimit, nodes[child].row);
        preOrder.push_back(child);
        frame.placedChildren.push_back(child);
        stack.push_back(Frame{child, 0, {}});
        continue;
      }
      TreePageNode& node = nodes[frame.node];
      if (frame.placedChildren.empty()) {
        node.column = nextColumn++;
      } else {
        node.column =
            (nodes[frame.placedChildren.front()].column + nodes[frame.placedChildren.back()].column) / 2;
      }
      stack.pop_back();
    }
  };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!parentOf[i]) {
      walk(i);
    }
  }
  // Only parents that go round in a circle leave nodes unvisited: each circle from its first name.
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!visited[i]) {
      walk(i);
    }
  }
  columns = nextColumn;
  rows = nodes.empty() ? 0 : depthLimit + 1;
  std::vector<TreePageNode> ordered;
  ordered.reserve(nodes.size());
  for (const std::size_t i : preOrder) {
    ordered.push_back(std::move(nodes[i]));
  }
  return ordered;
}

}  // namespace

DomainTreePage layoutDomainTree(const crds::Domain& domain, const std::vector<crds::Snapshot>& snapshots) {
  DomainTreePage page;
  page.ns = domain.metadata.namespaceName.value_or("");
  page.name = domain.metadata.name.value_or("");
  if (domain.status && domain.status->state) {
    page.state = std::string(enumName(*domain.status->state));
  }

  std::map<std::string, TreePageNode> nodes;
  const bool domainHasTree = domain.status && domain.status->snapshotTree;
  if (domainHasTree) {
    for (const auto& entry : *domain.status->snapshotTree) {
      TreePageNode& node = nodes[entry.name];
      node.name = entry.name;
      node.parent = entry.parent;
      node.inTree = true;
      node.managed = false;  // until its Snapshot object turns up below
    }
    page.currentSnapshot = domain.status->currentSnapshot;
  }
  for (const auto& snapshot : snapshots) {
    const std::string name = snapshot.metadata.name.value_or("");
    TreePageNode& node = nodes[name];
    node.name = name;
    node.managed = true;
    if (!node.inTree && onHypervisor(snapshot)) {
      node.parent = snapshot.status->parent;
      node.inTree = true;
    }
    if (!domainHasTree && snapshot.status && snapshot.status->current.value_or(false)) {
      page.currentSnapshot = name;
    }
    if (!snapshot.status) {
      continue;
    }
    const crds::SnapshotStatus& status = *snapshot.status;
    if (status.phase) {
      node.phase = std::string(enumName(*status.phase));
      if (*status.phase == crds::SnapshotPhase::Failed) {
        if (const meta::Condition* stalled =
                meta::trueCondition(status.conditions, meta::kConditionStalled)) {
          node.message = stalled->message;
        }
      }
    }
    if (const meta::Condition* blocked =
            meta::trueCondition(status.conditions, crds::kConditionDeletionBlocked)) {
      node.deletionBlocked = status.deletionBlockedReason.value_or(blocked->reason);
    }
  }

  std::vector<TreePageNode> tree;
  std::vector<TreePageNode> elsewhere;
  for (auto& [name, node] : nodes) {
    node.current = page.currentSnapshot == name;
    (node.inTree ? tree : elsewhere).push_back(std::move(node));
  }
  page.nodes = layoutTree(std::move(tree), page.columns, page.rows);
  std::sort(elsewhere.begin(), elsewhere.end(),
            [](const TreePageNode& a, const TreePageNode& b) { return virshNameLess(a.name, b.name); });
  for (std::size_t i = 0; i < elsewhere.size(); ++i) {
    elsewhere[i].parent.reset();
    elsewhere[i].column = static_cast<double>(i);
    elsewhere[i].row = page.rows;
    page.nodes.push_back(std::move(elsewhere[i]));
  }
  if (!elsewhere.empty()) {
    page.columns = std::max(page.columns, static_cast<int>(elsewhere.size()));
    ++page.rows;
  }
  return page;
}

json toJson(const DomainTreePage& page) {
  json nodes = json::array();
  for (const auto& node : page.nodes) {
    json entry = {{"name", node.name},       {"inTree", node.inTree}, {"managed", node.managed},
                  {"current", node.current}, {"phase", node.phase},   {"column", node.column},
                  {"row", node.row}};
    if (node.parent) {
      entry["parent"] = *node.parent;
    }
    if (!node.message.empty()) {
      entry["message"] = node.message;
    }
    if (node.deletionBlocked) {
      entry["deletionBlocked"] = *node.deletionBlocked;
    }
    nodes.push_back(std::move(entry));
  }
  json result = {{"namespace", page.ns},    {"name", page.name}, {"state", page.state},
                 {"columns", page.columns}, {"rows", page.rows}, {"snapshots", std::move(nodes)}};
  if (page.currentSnapshot) {
    result["currentSnapshot"] = *page.currentSnapshot;
  }
  return result;
}

json treePageData(const kube::ObjectCache& domains, const kube::ObjectCache& snapshots, bool synced) {
  json list = json::array();
  for (const auto& object : domains.list()) {
    auto domain = crds::decodeDomain(*object);
    if (!domain) {
      continue;
    }
    std::vector<crds::Snapshot> decoded;
    for (const auto& snapshot : snapshots.byIndex(reconcilers::kByDomainIndex, kube::objectKey(*object))) {
      if (auto one = crds::decodeSnapshot(*snapshot)) {
        decoded.push_back(std::move(one).value());
      }
    }
    list.push_back(toJson(layoutDomainTree(domain.value(), decoded)));
  }
  return {{"synced", synced}, {"domains", std::move(list)}};
}

}  // namespace virtsnap::agent::web
