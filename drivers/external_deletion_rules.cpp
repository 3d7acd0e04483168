#include "drivers/external_deletion_rules.h"

#include <string>
#include <vector>

#include "drivers/snapshot_tree.h"

namespace virtsnap::drivers {

namespace {

std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + quoted(name);
  }
  return out;
}

constexpr std::string_view kMetadataOnlyHint =
    " Or delete it with deletionPolicy MetadataOnly: libvirt then forgets the snapshot and leaves its files.";

DeletionBlock blocked(DeletionBlockReason reason, std::string_view name, std::string message) {
  return DeletionBlock{reason, std::string(name), std::move(message) + std::string(kMetadataOnlyHint)};
}

}  // namespace

// The order of the checks is libvirt's (qemuSnapshotDeleteValidate, then the block-commit
// preparation), so that the reason given is the one libvirt would give.
std::optional<DeletionBlock> ExternalDeletionRules::check(std::string_view name,
                                                          DeleteOptions options) const {
  if (options.metadataOnly) {
    return std::nullopt;
  }
  const std::optional<SnapshotRecord> snap = tree_.find(name);
  if (!snap) {
    return std::nullopt;
  }
  const bool external = snap->location == SnapshotLocation::External;

  if (options.scope != DeleteScope::Snapshot) {
    std::vector<std::string> externals;
    if (external && options.scope == DeleteScope::Children) {
      externals.push_back(snap->name);
    }
    for (const std::string& d : tree_.descendantsOf(name)) {
      if (tree_.find(d)->location == SnapshotLocation::External) {
        externals.push_back(d);
      }
    }
    if (!externals.empty()) {
      return blocked(
          DeletionBlockReason::ExternalDescendants, name,
          "deleting " + std::string(options.scope == DeleteScope::Children ? "" : "the children of ") +
              quoted(name) + " with its subtree would delete the external snapshot(s) " + joined(externals) +
              ", and libvirt does not delete external snapshots together with their children. "
              "Delete them one at a time, leaves first.");
    }
  }
  if (!external) {
    return std::nullopt;
  }

  const std::vector<std::string> children = tree_.childrenOf(name);
  const std::optional<std::string> current = tree_.current();
  const bool isCurrent = current && *current == name;
  if (isCurrent && !children.empty()) {
    return blocked(DeletionBlockReason::ActiveExternalNotLeaf, name,
                   "external snapshot " + quoted(name) +
                       " is the current (active) snapshot and has children (" + joined(children) +
                       "); libvirt cannot delete the active external snapshot that is not a leaf. "
                       "Revert to one of its children first, or delete its children first.");
  }
  if (!children.empty() && !tree_.inActiveChain(name)) {
    return blocked(DeletionBlockReason::ExternalNotInActiveChain, name,
                   "external snapshot " + quoted(name) + " has children (" + joined(children) +
                       ") but is not in the active chain (" +
                       (current ? "the current snapshot " + quoted(*current) + " and its ancestors"
                                : "no snapshot is current") +
                       "); libvirt can only merge external snapshots along the active chain. "
                       "Revert to " +
                       quoted(name) + " or one of its descendants first, or delete its children first.");
  }
  if (children.size() > 1) {
    return blocked(DeletionBlockReason::ExternalWithMultipleChildren, name,
                   "external snapshot " + quoted(name) + " has " + std::to_string(children.size()) +
                       " children (" + joined(children) +
                       "); libvirt cannot merge it into more than one branch (that needs block-stream). "
                       "Delete all but one of its branches first.");
  }
  // libvirt merges (block-commit) unless the snapshot is a leaf that is not current; a leaf that is
  // not current just has its overlay files removed.
  const bool needsMerge = isCurrent || !children.empty();
  if (needsMerge && snap->parent && tree_.find(*snap->parent)->location == SnapshotLocation::Internal) {
    return blocked(DeletionBlockReason::ExternalWithInternalParent, name,
                   "external snapshot " + quoted(name) + " has the internal snapshot " +
                       quoted(*snap->parent) +
                       " as its parent, and deleting it means merging its overlay into that parent, which "
                       "libvirt does not support. Revert to another snapshot first if " +
                       quoted(name) + " is current, or delete its child first.");
  }
  // Not refused by libvirt (seen on 11.3): merging this overlay away would silently destroy the
  // internal snapshots stored inside it.
  std::vector<std::string> internalChildren;
  for (const std::string& child : children) {
    if (tree_.find(child)->location == SnapshotLocation::Internal) {
      internalChildren.push_back(child);
    }
  }
  if (!internalChildren.empty()) {
    return blocked(DeletionBlockReason::ExternalWithInternalChildren, name,
                   "the overlay of external snapshot " + quoted(name) + " holds the internal snapshot(s) " +
                       joined(internalChildren) +
                       "; deleting it would merge the overlay away and lose their data (libvirt does not "
                       "refuse this, virtsnap does). Delete " +
                       joined(internalChildren) + " first.");
  }
  return std::nullopt;
}

}  // namespace virtsnap::drivers
