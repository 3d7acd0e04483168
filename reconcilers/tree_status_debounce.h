#pragma once
// When a Domain's tree status (currentSnapshot, snapshotCount, snapshotTree, unmanagedSnapshots) is
// written, per Domain: once the tree has stayed the same for `delay` (a debounce, so a burst spread
// over time costs one write, not one per snapshot), and at the latest `maxDelay` after the status
// first fell behind, however often the tree keeps changing (so a Domain under a constant trickle is
// still written). The reconciler reports what it sees; this decides, on the injected clock, and says
// how long until a deferred write is due, for the reconciler's requeue. Nothing here is written or
// scheduled by itself: a key's record lives until written() or forget(). Thread-safe: the reconciler's
// workers share one (never on the same key at once, the work queue guarantees it).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace virtsnap::reconcilers {

struct TreeStatusTiming {
  std::chrono::nanoseconds delay{std::chrono::seconds(1)};      // quiet time before the write
  std::chrono::nanoseconds maxDelay{std::chrono::seconds(10)};  // the most the status may lag
};

class TreeStatusDebounce {
 public:
  struct Decision {
    bool writeNow = false;
    std::chrono::nanoseconds dueIn{0};  // when not now: look again after this long
  };

  // `clock` null: the system clock.
  TreeStatusDebounce(ClockPtr clock, TreeStatusTiming timing);

  // The domain's tree, as libvirt has it now, differs from its status; `fingerprint` identifies that
  // tree (a new value restarts the quiet time). `viewChangedAt`: when the hypervisor view last saw
  // the tree change. A new fingerprint whose change the view saw after the last change known here (a
  // fingerprint, an operation found waiting, the status found current) is quiet since the view's
  // change, not since now: the Domain may be looked at a delay after its last operation and write at
  // once. Otherwise (a change the view did not date: a Snapshot object added or removed) since now.
  Decision settled(const std::string& key, std::size_t fingerprint,
                   std::optional<virtsnap::Clock::TimePoint> viewChangedAt = std::nullopt);
  // The domain has an operation waiting, so its tree is about to change (it is not computed then: a
  // burst would pay for it on every event). The status may be behind: writeNow once maxDelay has
  // passed since it first was, when the caller computes the tree and compares.
  Decision changing(const std::string& key);
  // The status now holds the tree as it was at `asOf` (read then; written, or found already right):
  // the next change starts afresh, and a change the view saw after `asOf` is news. Default: now.
  void written(const std::string& key, std::optional<virtsnap::Clock::TimePoint> asOf = std::nullopt);
  // The debounce's clock, for `asOf`.
  virtsnap::Clock::TimePoint now() const { return clock_->now(); }
  // The domain is gone.
  void forget(const std::string& key);
  // Domains whose tree write is deferred (for tests and metrics).
  std::size_t deferred() const;

 private:
  struct Behind {
    virtsnap::Clock::TimePoint since;      // the status first fell behind
    virtsnap::Clock::TimePoint changedAt;  // the tree last changed
    std::optional<std::size_t> fingerprint;
  };
  Decision decide(const Behind& behind, virtsnap::Clock::TimePoint now, bool quietCounts) const;

  const ClockPtr clock_;
  const TreeStatusTiming timing_;
  mutable std::mutex mutex_;  // guards behind_ and currentAt_
  std::unordered_map<std::string, Behind> behind_;
  // When each domain's status was last found holding its tree (one entry per domain, kept after the
  // write so that the next difference knows whether the view's change is news).
  std::unordered_map<std::string, virtsnap::Clock::TimePoint> currentAt_;
};

}  // namespace virtsnap::reconcilers
