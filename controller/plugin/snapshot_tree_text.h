#pragma once
// A Domain's snapshot tree as text for people, the way `virsh snapshot-list --tree` prints it (virsh's
// vshTreePrint layout, children in virsh's case-insensitive name order), with what virsh cannot know
// marked on each line: the current snapshot (" *"), a phase other than Ready, a deletion that is
// blocked (with its reason) and a snapshot on the hypervisor that no Snapshot object manages.
//
// Where the facts come from. The structure (parents and the current snapshot) is the Domain's
// status.snapshotTree and status.currentSnapshot when the agent wrote them: one write, so one
// consistent picture of libvirt's tree, unmanaged snapshots included. Each Snapshot's own status adds
// its phase and its DeletionBlocked condition, and its status.parent places it when the Domain's list
// does not name it (the Domain's list is bounded, or lags behind a just-created snapshot). A Snapshot
// that is not on the hypervisor (Pending, Creating, Failed, Lost without a parent) is listed after the
// tree, under "Not in the tree:".

#include <optional>
#include <string>
#include <vector>

#include "crds/domain.h"
#include "crds/snapshot.h"

namespace virtsnap::plugin {

// One node for renderVirshTree: its name, its parent (absent or unknown: a root) and the text printed
// for it (the name and its marks).
struct TreeLine {
  std::string name;
  std::optional<std::string> parent;
  std::string label;
};

// virsh's tree layout over `nodes`, roots in name order. A node whose parent is not among `nodes`
// is a root; every node is printed once, even where parents would form a cycle.
std::string renderVirshTree(const std::vector<TreeLine>& nodes);

struct DomainTreeText {
  std::string text;           // the tree, then the "Not in the tree:" section when there is one
  std::size_t snapshots = 0;  // lines printed, both parts; 0: the Domain has no snapshot at all
};

// `snapshots` are the Domain's Snapshot objects (spec.domainName == the Domain's name).
DomainTreeText renderDomainTree(const crds::Domain& domain, const std::vector<crds::Snapshot>& snapshots);

}  // namespace virtsnap::plugin
