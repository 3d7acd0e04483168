#include "controller/plugin/snapshot_tree_text.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>

#include "base/enum_names.h"
#include "base/virsh_name_order.h"

namespace virtsnap::plugin {

namespace {

// vshTreePrintInternal (libvirt tools/vsh.c), over an index of the nodes. Recursion as deep as the
// tree, as in virsh.
class VirshPrinter {
 public:
  explicit VirshPrinter(const std::vector<TreeLine>& nodes) : nodes_(nodes), printed_(nodes.size(), false) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      order_.push_back(i);
      byName_.emplace(nodes[i].name, i);
    }
    std::sort(order_.begin(), order_.end(),
              [&](std::size_t a, std::size_t b) { return virshNameLess(nodes_[a].name, nodes_[b].name); });
    children_.resize(nodes.size());
    for (const std::size_t i : order_) {
      if (auto parent = parentOf(i)) {
        children_[*parent].push_back(i);
      }
    }
  }

  std::string print() {
    for (const std::size_t i : order_) {
      if (!parentOf(i)) {
        printNode(i, i, true);
      }
    }
    // Only parents that go round in a circle leave nodes unprinted: each such circle from its first name.
    for (const std::size_t i : order_) {
      if (!printed_[i]) {
        printNode(i, i, true);
      }
    }
    return out_;
  }

 private:
  std::optional<std::size_t> parentOf(std::size_t i) const {
    if (!nodes_[i].parent) {
      return std::nullopt;
    }
    auto it = byName_.find(*nodes_[i].parent);
    if (it == byName_.end() || it->second == i) {
      return std::nullopt;
    }
    return it->second;
  }

  void printNode(std::size_t node, std::size_t lastSibling, bool root) {
    printed_[node] = true;
    out_ += indent_ + (root ? "" : "+- ") + nodes_[node].label + "\n";
    if (!root) {
      indent_ += node == lastSibling ? ' ' : '|';
      indent_ += ' ';
    }
    std::vector<std::size_t> children;
    for (const std::size_t child : children_[node]) {
      if (!printed_[child]) {
        children.push_back(child);
      }
    }
    if (!children.empty()) {
      out_ += indent_ + "  |\n";
    }
    indent_ += "  ";
    for (const std::size_t child : children) {
      printNode(child, children.back(), false);
    }
    indent_.resize(indent_.size() - 2);
    if (children.empty() && node == lastSibling) {
      out_ += indent_ + "\n";
    }
    if (!root) {
      indent_.resize(indent_.size() - 2);
    }
  }

  const std::vector<TreeLine>& nodes_;
  std::vector<bool> printed_;
  std::vector<std::size_t> order_;
  std::unordered_map<std::string, std::size_t> byName_;
  std::vector<std::vector<std::size_t>> children_;
  std::string out_;
  std::string indent_;
};

// What the line of a snapshot says beside its name: "(Creating, deletion blocked: Reason)".
std::string notesOf(const crds::Snapshot* snapshot) {
  if (snapshot == nullptr) {
    return " (unmanaged)";
  }
  if (!snapshot->status) {
    return " (not yet seen by the agent)";
  }
  const crds::SnapshotStatus& status = *snapshot->status;
  std::vector<std::string> notes;
  if (status.phase && *status.phase != crds::SnapshotPhase::Ready) {
    std::string phase(enumName(*status.phase));
    if (*status.phase == crds::SnapshotPhase::Failed) {
      if (const meta::Condition* stalled = meta::trueCondition(status.conditions, meta::kConditionStalled);
          stalled != nullptr && !stalled->message.empty()) {
        phase += ": " + stalled->message;
      }
    }
    notes.push_back(std::move(phase));
  } else if (!status.phase) {
    notes.emplace_back("no phase yet");
  }
  if (const meta::Condition* blocked =
          meta::trueCondition(status.conditions, crds::kConditionDeletionBlocked)) {
    notes.push_back("deletion blocked: " + status.deletionBlockedReason.value_or(blocked->reason));
  }
  std::string text;
  for (const auto& note : notes) {
    text += (text.empty() ? " (" : ", ") + note;
  }
  return text.empty() ? text : text + ")";
}

// On the hypervisor by its own account: a Ready or Deleting Snapshot (a root has no parent).
bool onHypervisor(const crds::Snapshot& snapshot) {
  if (!snapshot.status || !snapshot.status->phase) {
    return false;
  }
  const auto phase = *snapshot.status->phase;
  return phase == crds::SnapshotPhase::Ready || phase == crds::SnapshotPhase::Deleting;
}

}  // namespace

std::string renderVirshTree(const std::vector<TreeLine>& nodes) {
  return VirshPrinter(nodes).print();
}

DomainTreeText renderDomainTree(const crds::Domain& domain, const std::vector<crds::Snapshot>& snapshots) {
  struct Node {
    std::optional<std::string> parent;
    bool inTree = false;
    const crds::Snapshot* snapshot = nullptr;
  };
  std::map<std::string, Node> nodes;
  std::optional<std::string> current;
  const bool domainHasTree = domain.status && domain.status->snapshotTree;
  if (domainHasTree) {
    for (const auto& entry : *domain.status->snapshotTree) {
      Node& node = nodes[entry.name];
      node.parent = entry.parent;
      node.inTree = true;
    }
    current = domain.status->currentSnapshot;
  }
  for (const auto& snapshot : snapshots) {
    const std::string name = snapshot.metadata.name.value_or("");
    Node& node = nodes[name];
    node.snapshot = &snapshot;
    if (!node.inTree && onHypervisor(snapshot)) {
      node.parent = snapshot.status->parent;
      node.inTree = true;
    }
    if (!domainHasTree && snapshot.status && snapshot.status->current.value_or(false)) {
      current = name;
    }
  }

  DomainTreeText result;
  std::vector<TreeLine> tree;
  std::string elsewhere;
  for (const auto& [name, node] : nodes) {
    const std::string label = name + (current == name ? " *" : "") + notesOf(node.snapshot);
    if (node.inTree) {
      tree.push_back(TreeLine{name, node.parent, label});
    } else {
      elsewhere += "  " + label + "\n";
    }
    ++result.snapshots;
  }
  result.text = renderVirshTree(tree);
  if (!elsewhere.empty()) {
    result.text += "Not in the tree:\n" + elsewhere;
  }
  return result;
}

}  // namespace virtsnap::plugin
