#pragma once
// The snapshot tree of one domain, with libvirt's semantics (docs/design.md, Snapshot tree rules).
//
// Guarantees:
// - Every snapshot has exactly one parent: another snapshot or the metaroot (then it is a root).
// - The current pointer names a snapshot in the tree or nothing; removing the current snapshot
//   always moves or clears it, even when a larger operation fails afterwards.
// - A refused operation (an error value) leaves the tree exactly as it was.
// - Children, roots and leaves come back sorted by name; iteration is topological (parents before
//   children, siblings by name) and iterative, so a 10,000-deep chain is fine.
// - Costs: lookups O(1) average, create/revert O(log k), rebuild O(n log n), full walks O(n).
// Not thread-safe: the owner serializes access (all mutations of one domain are serialized anyway).

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/expected.h"
#include "drivers/delete_options.h"
#include "drivers/deletion_block.h"
#include "drivers/snapshot_record.h"
#include "drivers/tree_error.h"

namespace virtsnap::drivers {

// What a successful deletion did.
struct DeleteOutcome {
  std::vector<std::string> removed;     // parents before children
  std::vector<std::string> reparented;  // children that moved to the deleted snapshot's parent
  std::optional<std::string> current;   // the current snapshot afterwards
};

// What a rebuild found wrong in the relations it was given, and how it repaired them.
struct RebuildReport {
  std::vector<std::string> orphans;           // parent not in the tree: attached at the root
  std::vector<std::string> cycleBreaks;       // one member of each cycle: attached at the root
  std::vector<std::string> duplicates;        // names given twice: the first record wins
  std::optional<std::string> clearedCurrent;  // a current name that is not in the tree
  bool clean() const {
    return orphans.empty() && cycleBreaks.empty() && duplicates.empty() && !clearedCurrent;
  }
};

// One redefine step: called for each snapshot in parents-before-children order, after the model
// validated it; returns an error message to make the whole bulk redefine fail (and roll back).
using RedefineStep = std::function<std::optional<std::string>(const SnapshotRecord& record, bool current)>;

// What a failed bulk redefine did before it gave up.
struct RedefineFailure {
  TreeError error;                      // names the snapshot that failed and why
  std::vector<std::string> rolledBack;  // removed again, children before parents
};

class SnapshotTree {
 public:
  SnapshotTree();
  ~SnapshotTree();
  SnapshotTree(SnapshotTree&&) noexcept;
  SnapshotTree& operator=(SnapshotTree&&) noexcept;
  SnapshotTree(const SnapshotTree&) = delete;
  SnapshotTree& operator=(const SnapshotTree&) = delete;

  // --- Queries -------------------------------------------------------------------------------
  std::size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  bool contains(std::string_view name) const;
  std::optional<std::string> current() const;
  std::optional<SnapshotRecord> find(std::string_view name) const;
  // nullopt for a root or an unknown name.
  std::optional<std::string> parentOf(std::string_view name) const;
  std::vector<std::string> childrenOf(std::string_view name) const;
  std::vector<std::string> roots() const;
  std::vector<std::string> leaves() const;
  // Number of ancestors: 0 for a root. nullopt for an unknown name.
  std::optional<std::size_t> depth(std::string_view name) const;
  // The current snapshot and its ancestors, current first; empty when nothing is current.
  std::vector<std::string> activeChain() const;
  bool inActiveChain(std::string_view name) const;
  // Every snapshot, parents before children, siblings by name, with its depth.
  void forEachTopological(const std::function<void(const SnapshotRecord&, std::size_t depth)>& visit) const;
  std::vector<SnapshotRecord> topologicalOrder() const;
  // Every descendant of `name` (not itself), parents before children.
  std::vector<std::string> descendantsOf(std::string_view name) const;

  // --- libvirt's operations ------------------------------------------------------------------
  // A new snapshot becomes a child of the current one (a root if none) and becomes current.
  // `record.parent` is ignored: the parent is an outcome, not an input.
  Expected<SnapshotRecord, TreeError> create(SnapshotRecord record);
  // Reverting makes `name` current; the next create starts a branch below it.
  std::optional<TreeError> revert(std::string_view name);
  // Whether libvirt would refuse this deletion; nullopt when it is allowed.
  std::optional<DeletionBlock> checkDeletion(std::string_view name, DeleteOptions options) const;
  // Deletes as libvirt does: refused (and nothing changes) when checkDeletion blocks it.
  Expected<DeleteOutcome, TreeError> remove(std::string_view name, DeleteOptions options);

  // --- Whole-tree operations -----------------------------------------------------------------
  // Replaces the tree with `records` linked by their parent names, whatever the previous state was.
  // Orphans and cycles are attached at the root and reported; an unknown current is cleared.
  RebuildReport rebuild(std::span<const SnapshotRecord> records, std::optional<std::string> current);
  // Adds `records` (any order) as libvirt's REDEFINE would, parents before children, marking
  // `current`. All-or-nothing: on any failure every snapshot added by this call is removed again
  // (children first), the current pointer is reset if it named one of them, and the failure names
  // the snapshot and the error. `step` is the hypervisor's part of each redefine (may be empty).
  std::optional<RedefineFailure> redefineAll(std::span<const SnapshotRecord> records,
                                             std::optional<std::string> current,
                                             const RedefineStep& step = {});
  // Every snapshot removed, nothing current.
  void clear();

  // Checks every structural invariant (parent/child links agree, no cycle, everything reachable
  // from the metaroot, current in the tree). For tests and assertions; O(n).
  std::optional<std::string> checkInvariants() const;

 private:
  struct Node;
  struct NameLess {
    using is_transparent = void;
    bool operator()(const Node* a, const Node* b) const;
  };
  using Children = std::set<Node*, NameLess>;

  Node* lookup(std::string_view name) const;
  Node* addNode(SnapshotRecord record, Node* parent);
  void linkParent(Node* node, Node* parent);
  void dropParent(Node* node);
  void moveChildren(Node* from, Node* to);
  void eraseNode(Node* node);
  std::vector<Node*> collectDescendants(const Node* node) const;
  SnapshotRecord recordOf(const Node* node) const;

  std::unique_ptr<Node> metaroot_;
  std::unordered_map<std::string_view, std::unique_ptr<Node>> nodes_;  // keys view the node's name
  Node* current_ = nullptr;
};

}  // namespace virtsnap::drivers
