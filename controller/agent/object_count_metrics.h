#pragma once
// Gauges of this node's objects, counted from the informers' caches at each scrape, so they never
// drift (an object deleted leaves the count with its cache entry):
//   virtsnap_domains{state}                      Domains by status.state ("Unknown" before the first)
//   virtsnap_snapshots{phase,location}           Snapshots by status.phase ("Pending" before the first
//                                                status) and location (status, else spec, else Unknown)
//   virtsnap_snapshot_deletions_blocked{reason}  Snapshots being deleted whose DeletionBlocked is True,
//                                                by status.deletionBlockedReason
//   virtsnap_unmanaged_snapshots                 snapshots on the hypervisor without a Snapshot object
//                                                (the Domains' status.unmanagedSnapshots)
// Snapshots count when their Domain is in the Domain cache (this node's). Every state, and every
// phase and location pair, and every reason libvirt or the tree gives, has a series (at 0 when none).
//
// The Snapshots are counted from an index of their cache (snapshotCountIndexers(), which the Snapshot
// informer must carry, best as a counted index: no entry per Snapshot), never by decoding them: the cache is
// packed, and decoding every Snapshot at each scrape cost O(N) CPU and a transient heap of ~7 KB per Snapshot
// that malloc kept afterwards (N=3000: +20 MB of RSS after the first scrape).

#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "controller/kube/object_cache.h"

namespace virtsnap::agent {

// The Snapshot cache's index the counts read: one value per Snapshot of a domain,
// "<domain key>\n<phase>\n<location>\n<blocked reason, empty when not blocked>".
inline constexpr const char* kSnapshotCountIndex = "snapshotCountLabels";
kube::Indexers snapshotCountIndexers();

class ObjectCountMetrics final : public prometheus::Collectable {
 public:
  // The caches must outlive this collector's use (the manager owns both).
  ObjectCountMetrics(const kube::ObjectCache& domains, const kube::ObjectCache& snapshots);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const kube::ObjectCache& domains_;
  const kube::ObjectCache& snapshots_;
};

}  // namespace virtsnap::agent
