#pragma once
// The deletions of external snapshots that libvirt refuses (docs/design.md, Snapshot tree rules),
// predicted from the tree so that status.deletable is right before anyone tries.
// Metadata-only deletions touch no data and are never blocked. One rule is virtsnap's own, not
// libvirt's: an external snapshot whose overlay holds internal snapshots is not merged away.
// libvirt's refusal of deleting an internal snapshot of a running domain that has moved to another
// image depends on disk state the tree does not hold; it is only mapped from libvirt's error.

#include <optional>
#include <string_view>

#include "drivers/delete_options.h"
#include "drivers/deletion_block.h"

namespace virtsnap::drivers {

class SnapshotTree;

class ExternalDeletionRules {
 public:
  explicit ExternalDeletionRules(const SnapshotTree& tree) : tree_(tree) {}

  // nullopt when libvirt would delete `name` with `options`; the snapshot must exist.
  std::optional<DeletionBlock> check(std::string_view name, DeleteOptions options) const;

 private:
  const SnapshotTree& tree_;
};

}  // namespace virtsnap::drivers
