#pragma once
// libvirt's virDomainSnapshotDelete flags, as a value.

namespace virtsnap::drivers {

enum class DeleteScope {
  Snapshot,      // plain: the snapshot only; its children move up to its parent
  Children,      // VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN: the snapshot and its whole subtree
  ChildrenOnly,  // VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY: the subtree below the snapshot
};

struct DeleteOptions {
  DeleteScope scope = DeleteScope::Snapshot;
  bool metadataOnly = false;  // VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY: libvirt forgets, data stays
};

}  // namespace virtsnap::drivers
