#pragma once
// The deletions of external snapshots that libvirt refuses (DESIGN.md section 2, second seed),
// predicted from the tree so that status.deletable is right before anyone tries.
// Metadata-only deletions touch no data and are never blocked.

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
