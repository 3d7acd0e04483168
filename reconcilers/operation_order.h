#pragma once
// The order in which one domain's creates and reverts run. libvirt makes a new snapshot the child of
// the domain's current one, so the tree depends on the order of operations: Snapshots and
// SnapshotReverts of a domain run strictly one at a time in (creationTimestamp, name) order, and
// applying a folder of manifests gives the same tree every time.

#include <optional>
#include <string>
#include <vector>

#include "controller/kube/object_cache.h"

namespace virtsnap::reconcilers {

struct PendingOperation {
  enum class Kind { Snapshot, Revert };
  Kind kind = Kind::Snapshot;
  std::string name;
  std::string creationTimestamp;  // RFC 3339, UTC, as the API server wrote it

  bool operator==(const PendingOperation&) const = default;
};

// "<namespace>/<spec.domainName>" of a Snapshot or SnapshotRevert: its Domain's cache key (and the
// value of the caches' byDomain index); "" when it names no domain.
std::string domainKeyOf(const nlohmann::json& object);

// Whether a Snapshot still waits to be taken (not being deleted, phase absent, Pending or Creating)
// and whether a SnapshotRevert still waits to run (phase absent, Pending or Running).
bool snapshotPending(const nlohmann::json& snapshot);
bool revertPending(const nlohmann::json& revert);

// The operation that runs next among one domain's Snapshots and SnapshotReverts; nullopt when none
// waits. Ties on the timestamp go by name, then Snapshots before SnapshotReverts.
std::optional<PendingOperation> nextOperation(const std::vector<kube::ObjectPtr>& snapshots,
                                              const std::vector<kube::ObjectPtr>& reverts);

// The order of the caches' kPendingByDomainIndex (agent_context.h): creationTimestamp, then key, which
// within one namespace is nextOperation's order within one kind.
std::string operationOrderKey(const nlohmann::json& object);

// The same from the caches (their kPendingByDomainIndex ordered by operationOrderKey): reads the
// first waiting Snapshot and the first waiting SnapshotRevert of the domain only, however many wait.
std::optional<PendingOperation> nextOperation(const kube::ObjectCache& snapshots,
                                              const kube::ObjectCache& reverts, const std::string& domainKey);

}  // namespace virtsnap::reconcilers
