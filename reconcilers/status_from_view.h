#pragma once
// What the status of each kind reports of the hypervisor, computed from a domain's view: a Snapshot's
// place in the tree and its libvirt definition; a Domain's tree, current snapshot and the snapshots
// no Snapshot object manages. Pure functions: the reconcilers compare the result with the status
// they read, and write only when it differs.

#include <set>
#include <string>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "drivers/snapshot_definition.h"
#include "reconcilers/hypervisor_views.h"

namespace virtsnap::reconcilers {

// Sets parent, children (sorted, bounded), current, depth, deletable and deletionBlockedReason
// (for `policy`: MetadataOnly and Retain deletions are never blocked), and from the definition
// creationTime, domainState, location, memory and disks (sorted). Not the definition's XML: the view
// keeps only its digest (the reconciler records it).
void applyTreeFacts(crds::SnapshotStatus& status, const TreePosition& position,
                    const ViewedDefinition& definition, crds::SnapshotDeletionPolicy policy);

// Sets currentSnapshot, snapshotCount, snapshotTree (topological, bounded; the count stays exact)
// and unmanagedSnapshots (the snapshots in the view whose name is not in `managed`, sorted, bounded;
// absent when `report` is false).
void applyTreeFacts(crds::DomainStatus& status, const DomainView& view, const std::set<std::string>& managed,
                    bool report);

crds::SnapshotDomainState snapshotDomainState(const std::string& libvirtState);
crds::DiskSnapshotMode diskSnapshotMode(const std::string& libvirtMode);

}  // namespace virtsnap::reconcilers
