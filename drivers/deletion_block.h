#pragma once
// Why libvirt would refuse to delete a snapshot (docs/design.md, Snapshot tree rules: external snapshots),
// predicted by the tree model and mapped from libvirt's own refusals, with what would unblock it.

#include <string>
#include <string_view>

namespace virtsnap::drivers {

enum class DeletionBlockReason {
  ExternalWithMultipleChildren,  // an external snapshot with more than one child needs block-stream
  ExternalNotInActiveChain,      // a non-leaf external snapshot off the active chain after a revert
  ActiveExternalNotLeaf,         // the current external snapshot while it has children
  ExternalDescendants,           // CHILDREN / CHILDREN_ONLY over external descendants
  ExternalWithInternalParent,    // an external snapshot that needs a merge into an internal parent
  ExternalWithInternalChildren,  // virtsnap's own rule: the overlay holds internal snapshots' data
  InternalNotInCurrentImage,     // an internal snapshot of a running domain that now runs on another
                                 // image (libvirt's refusal only: the tree cannot predict it)
  PausedAfterMemorySnapshot,     // a merge while the domain has stayed paused since a memory snapshot:
                                 // QEMU keeps its disks inactive until it runs (libvirt's refusal only)
};

struct DeletionBlock {
  DeletionBlockReason reason;
  std::string snapshot;  // the snapshot whose deletion was asked for
  std::string message;   // what is wrong and what would unblock it

  bool operator==(const DeletionBlock&) const = default;
};

// A stable CamelCase name, for condition reasons and Events.
std::string_view toString(DeletionBlockReason reason);

}  // namespace virtsnap::drivers
