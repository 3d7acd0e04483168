#pragma once
// The data of the agent's tree page (/tree on the health-probe port): each of this node's Domains with
// its snapshots, laid out as a tree, as the JSON that /tree.json serves and the page's script draws.
// Read from the agent's informer caches only, never from libvirt.
//
// Where the facts come from (the rules of the kubectl plugin's tree, controller/plugin/
// snapshot_tree_text.h): the structure (parents, the current snapshot, unmanaged snapshots) is the
// Domain's status.snapshotTree and status.currentSnapshot, one consistent picture of libvirt's tree
// written by the agent; each Snapshot's own status adds its phase, its Failed message and its
// DeletionBlocked reason, and places it by its status.parent when the Domain's list does not name it
// yet. A Snapshot that is not on the hypervisor (Pending, Creating, Failed, Lost) is drawn in a row of
// its own below the tree, without edges.
//
// The layout: one row per depth (a root at depth 0); leaves take columns 0, 1, 2, ... in pre-order,
// children in virsh's case-insensitive name order, and a parent sits centred over its first and last
// child. Parents that go round in a circle (which libvirt cannot report, but status is only data) are
// cut where the walk first meets them, so every snapshot is placed exactly once.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/kube/object_cache.h"
#include "crds/domain.h"
#include "crds/snapshot.h"

namespace virtsnap::agent::web {

struct TreePageNode {
  std::string name;
  std::optional<std::string> parent;  // the edge drawn into this node; none for a root
  bool inTree = false;                // on the hypervisor; false: in the row below the tree
  bool managed = true;                // false: on the hypervisor only, no Snapshot object
  bool current = false;
  std::string phase;                           // the Snapshot's phase; "" when it has none (or is unmanaged)
  std::string message;                         // a Failed snapshot's Stalled message
  std::optional<std::string> deletionBlocked;  // the reason its deletion is blocked
  double column = 0;
  int row = 0;
};

struct DomainTreePage {
  std::string ns;
  std::string name;
  std::string state;  // the Domain's status.state, "" before the agent wrote one
  std::optional<std::string> currentSnapshot;
  std::vector<TreePageNode> nodes;  // the tree's nodes in pre-order, then those not in the tree by name
  int columns = 0;                  // columns used (0 without snapshots)
  int rows = 0;                     // rows used, the row below the tree included when it has nodes
};

// `snapshots`: the Domain's Snapshot objects.
DomainTreePage layoutDomainTree(const crds::Domain& domain, const std::vector<crds::Snapshot>& snapshots);

nlohmann::json toJson(const DomainTreePage& page);

// The whole page's data: {"synced": ..., "domains": [...]} with every Domain of `domains` (in key
// order) and its Snapshots from `snapshots` (looked up by the agent's by-Domain index). An object the
// decoders refuse is skipped (a Domain) or left out (a Snapshot).
nlohmann::json treePageData(const kube::ObjectCache& domains, const kube::ObjectCache& snapshots,
                            bool synced);

}  // namespace virtsnap::agent::web
