#pragma once
// Where each snapshot sits in its domain's tree (what a Snapshot's status reports of it), computed for
// the whole tree or updated for the few snapshots an operation can have moved.
//
// Guarantees:
// - A snapshot's position depends only on its parent, its children, its depth, whether it is current,
//   whether it is in the active chain (current and its ancestors) and whether any snapshot is current.
//   The deletion block keeps the reason only: its message names the current snapshot, which would make
//   every blocked snapshot's position change at each create.
// - updatePositions() given what touchedByCreate()/touchedByDelete() say an operation touched leaves
//   the positions equal to positionsOf() of the tree after it (a randomized test holds it to that).
//   An operation that moves the current snapshot only ever shortens or extends the active chain by
//   snapshots it created or removed, so no other snapshot enters or leaves the chain.
// - Costs: positionsOf O(n); an update O(touched + their depths' walk to an untouched ancestor), and
//   O(n) when it touches more than a quarter of the tree; a deletion of a snapshot with children
//   touches its whole subtree (every depth below it changes).

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/deletion_block.h"
#include "drivers/snapshot_tree.h"

namespace virtsnap::reconcilers {

struct TreePosition {
  std::optional<std::string> parent;
  std::vector<std::string> children;  // sorted
  bool current = false;
  std::size_t depth = 0;
  // Why the snapshot's own deletion (DeleteOptions{}) would be refused; nullopt when it would not.
  std::optional<drivers::DeletionBlockReason> deletionBlocked;

  bool operator==(const TreePosition&) const = default;
};

using TreePositions = std::map<std::string, TreePosition, std::less<>>;

TreePositions positionsOf(const drivers::SnapshotTree& tree);

// The snapshots added, removed, or whose position differs between the two.
std::set<std::string> changedPositions(const TreePositions& before, const TreePositions& after);

// The snapshots whose position an operation may have changed (names no longer in the tree are the
// removed ones).
using TouchedPositions = std::set<std::string, std::less<>>;

// A create of `created` below `previousCurrent` (the current snapshot before it, nullopt: none).
TouchedPositions touchedByCreate(const drivers::SnapshotTree& after, std::string_view created,
                                 const std::optional<std::string>& previousCurrent);
// A deletion with `outcome`; `childrenChanged` is the snapshot that lost (or gained) children: the
// deleted one's parent, or the deleted one itself for a children-only deletion.
TouchedPositions touchedByDelete(const drivers::SnapshotTree& after, const drivers::DeleteOutcome& outcome,
                                 const std::optional<std::string>& childrenChanged,
                                 const std::optional<std::string>& previousCurrent);

// Brings `positions` to the tree's for the touched snapshots (the other positions must be right
// already); returns those whose position was added, removed or changed.
std::set<std::string> updatePositions(TreePositions& positions, const drivers::SnapshotTree& tree,
                                      const TouchedPositions& touched);

}  // namespace virtsnap::reconcilers
