#pragma once
// One view of the hypervisor per domain (the domain's snapshot tree and definitions as libvirt last
// reported them), shared by the three reconcilers, so that one change costs one tree listing and
// not one per snapshot.
//
// Guarantees:
// - All hypervisor work on one domain happens while holding that domain's Access: operations of one
//   domain are strictly one at a time (across the three reconcilers), different domains proceed in
//   parallel.
// - refresh() replaces the view with libvirt's listing and says which snapshots' tree positions
//   (parent, children, current, depth, deletability) changed, so only those are reconciled again.
// - After virtsnap's own creates and deletions, the view is updated from libvirt's answer and the
//   tree model's rules (applyCreated, applyDeleted) instead of listing the whole tree: a burst of n
//   operations costs O(n), not O(n^2), and each costs the same at 10 or 10,000 snapshots. Changes
//   made outside virtsnap are still found by the refresh (the Domain's poll), as before; an own
//   operation whose answer contradicts the view lists at once.
// - A refresh lists the tree's shape (names, parents, current) and fetches a snapshot's definition
//   only when the snapshot is new to the view or its parent, children or current mark moved (when
//   libvirt may have rewritten its XML), so a refresh with nothing changed parses no XML. Not seen:
//   a snapshot deleted and made again under the same name outside virtsnap between two refreshes,
//   at the same place in the tree (or redefined there with other content); the view keeps its
//   former definition until its neighbourhood moves or the domain's view is forgotten.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/expected.h"
#include "drivers/deletion_block.h"
#include "drivers/driver_error.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/snapshot_tree.h"
#include "reconcilers/tree_positions.h"

namespace virtsnap::reconcilers {

// A snapshot's definition as the view keeps it: what a status reports of it, and the XML's digest,
// which says whether a status records what libvirt holds (the XML is status.definition's).
struct ViewedDefinition {
  std::optional<std::string> parent;
  std::string state;
  std::int64_t creationTime = 0;
  std::string memory;
  std::vector<drivers::SnapshotDisk> disks;
  drivers::SnapshotLocation location = drivers::SnapshotLocation::Internal;
  std::uint64_t xmlDigest = 0;
};

std::uint64_t definitionDigest(std::string_view xml);
// `definition` as the view keeps it.
ViewedDefinition viewed(drivers::SnapshotDefinition definition);

struct DomainView {
  bool loaded = false;                       // false until the first listing, and after a failed update
  virtsnap::Clock::TimePoint refreshedAt{};  // of the last listing (own operations' updates do not count)
  virtsnap::Clock::TimePoint changedAt{};    // when a listing or an own operation last moved the tree
  drivers::SnapshotTree tree;
  std::map<std::string, ViewedDefinition, std::less<>> definitions;
  TreePositions positions;
  // The last failed metadata recovery: what it was given (a hash of the definitions and the current)
  // and what libvirt answered, so the same definitions are not tried again at every reconcile.
  struct FailedRecovery {
    std::size_t definitions = 0;
    std::string message;
    std::chrono::system_clock::time_point at{};  // the agent's wall clock
  };
  std::optional<FailedRecovery> failedRecovery;
};

// What a refresh changed.
struct ViewChange {
  std::set<std::string> changed;       // snapshots added, removed, or whose TreePosition changed
  std::size_t definitionsFetched = 0;  // snapshot definitions the refresh fetched and parsed
  bool treeChanged() const { return !changed.empty(); }
};

class HypervisorViews {
 public:
  explicit HypervisorViews(drivers::HypervisorDriver& driver, ClockPtr clock = systemClock())
      : driver_(driver), clock_(std::move(clock)) {}

  // A domain's turn: holds its lock while it lives.
  class Access {
   public:
    DomainView& view() { return *slot_->view; }
    const std::string& domain() const { return domain_; }

   private:
    friend class HypervisorViews;
    struct Slot {
      std::mutex mutex;
      std::unique_ptr<DomainView> view = std::make_unique<DomainView>();
    };
    Access(std::shared_ptr<Slot> slot, std::string domain)
        : slot_(std::move(slot)), lock_(slot_->mutex), domain_(std::move(domain)) {}
    std::shared_ptr<Slot> slot_;
    std::unique_lock<std::mutex> lock_;
    std::string domain_;
  };

  // Blocks until no other operation holds `domain` (the hypervisor's domain name).
  Access access(const std::string& domain);

  // Lists the domain's snapshots and replaces the view; the error leaves the view as it was.
  Expected<ViewChange, drivers::DriverError> refresh(Access& access);
  // refresh() unless the view was refreshed less than `maxAge` ago (then: no change).
  Expected<ViewChange, drivers::DriverError> refreshIfOlder(Access& access, std::chrono::nanoseconds maxAge);
  // After virtsnap's own create, which libvirt answered with `created`: the view takes the new snapshot
  // where libvirt put it without listing the tree, when that is below the current snapshot the view
  // knows (anything else means the tree changed outside virtsnap, and it lists like refresh()), and
  // fetches the former current snapshot's definition again when it is external (libvirt rewrites it).
  // Both: when one of them has to list and the listing fails, the view is left unloaded (libvirt
  // acted, the view may not show it), so its next user lists.
  Expected<ViewChange, drivers::DriverError> applyCreated(Access& access,
                                                          drivers::SnapshotDefinition created);
  // After virtsnap's own deletion of `name` with `options`, which libvirt accepted: the view applies
  // libvirt's rules to its tree and fetches again the definitions libvirt rewrites (reparented
  // children; around an external snapshot, the neighbours whose children or current mark moved, as a
  // refresh would), without listing the tree; when its tree does not allow that deletion, or libvirt's
  // current snapshot or a fetched definition's parent disagrees with the outcome, it lists.
  Expected<ViewChange, drivers::DriverError> applyDeleted(Access& access, const std::string& name,
                                                          drivers::DeleteOptions options);
  // libvirt's definition of `name`, its XML included, kept in the view too when it names the view's
  // parent (so an edit outside virtsnap that moved nothing, a description, is seen once, not at every
  // reader's turn; one made again at another location leaves the view unloaded, for its next user
  // to list); NotFound when libvirt has no such snapshot.
  Expected<drivers::SnapshotDefinition, drivers::DriverError> describe(Access& access,
                                                                       const std::string& name);
  // Empties the view (the domain is gone); every snapshot it held counts as changed.
  ViewChange forget(Access& access);

 private:
  using Slot = Access::Slot;
  // Dates the view's change, if it is one, and returns it.
  ViewChange stamped(DomainView& view, ViewChange change) const;
  // refresh(); a failure leaves the view unloaded.
  Expected<ViewChange, drivers::DriverError> relist(Access& access);
  // Fetches the named definitions into the view; false when one cannot be fetched or names another
  // parent than the view's tree.
  bool refetch(Access& access, const std::set<std::string, std::less<>>& names);
  drivers::HypervisorDriver& driver_;
  const ClockPtr clock_;
  std::mutex mutex_;  // guards slots_
  std::map<std::string, std::shared_ptr<Slot>, std::less<>> slots_;
};

}  // namespace virtsnap::reconcilers
