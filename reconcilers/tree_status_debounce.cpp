#include "reconcilers/tree_status_debounce.h"

#include <algorithm>

namespace virtsnap::reconcilers {

TreeStatusDebounce::TreeStatusDebounce(ClockPtr clock, TreeStatusTiming timing)
    : clock_(clock ? std::move(clock) : systemClock()), timing_(timing) {}

TreeStatusDebounce::Decision TreeStatusDebounce::settled(
    const std::string& key, std::size_t fingerprint,
    std::optional<virtsnap::Clock::TimePoint> viewChangedAt) {
  const virtsnap::Clock::TimePoint now = clock_->now();
  std::lock_guard lock(mutex_);
  auto [it, added] = behind_.try_emplace(key, Behind{now, now, std::nullopt});
  Behind& behind = it->second;
  if (!added && behind.fingerprint == fingerprint) {
    return decide(behind, now, /*quietCounts=*/true);
  }
  // A new tree: quiet since now, unless the view saw its tree change after the last change this
  // knows of (a new fingerprint, an operation found waiting, the status found current); then the
  // view's change is this one, and quiet since then.
  std::optional<virtsnap::Clock::TimePoint> knownChange;
  if (!added) {
    knownChange = behind.changedAt;
  } else if (auto current = currentAt_.find(key); current != currentAt_.end()) {
    knownChange = current->second;
  }
  const bool dated = viewChangedAt && (!knownChange || *viewChangedAt > *knownChange);
  behind.changedAt = dated ? std::min(*viewChangedAt, now) : now;
  if (added) {
    behind.since = behind.changedAt;  // behind since the change, for the lag bound too
  }
  behind.fingerprint = fingerprint;
  return decide(behind, now, /*quietCounts=*/true);
}

TreeStatusDebounce::Decision TreeStatusDebounce::changing(const std::string& key) {
  const virtsnap::Clock::TimePoint now = clock_->now();
  std::lock_guard lock(mutex_);
  auto [it, added] = behind_.try_emplace(key, Behind{now, now, std::nullopt});
  Behind& behind = it->second;
  behind.changedAt = now;
  behind.fingerprint.reset();  // whatever the tree settles on is a change
  return decide(behind, now, /*quietCounts=*/false);
}

void TreeStatusDebounce::written(const std::string& key, std::optional<virtsnap::Clock::TimePoint> asOf) {
  const virtsnap::Clock::TimePoint at = asOf.value_or(clock_->now());
  std::lock_guard lock(mutex_);
  behind_.erase(key);
  currentAt_.insert_or_assign(key, at);
}

void TreeStatusDebounce::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  behind_.erase(key);
  currentAt_.erase(key);
}

std::size_t TreeStatusDebounce::deferred() const {
  std::lock_guard lock(mutex_);
  return behind_.size();
}

TreeStatusDebounce::Decision TreeStatusDebounce::decide(const Behind& behind, virtsnap::Clock::TimePoint now,
                                                        bool quietCounts) const {
  virtsnap::Clock::TimePoint due = behind.since + timing_.maxDelay;
  if (quietCounts) {
    due = std::min(due, behind.changedAt + timing_.delay);
  }
  if (now >= due) {
    return Decision{true, std::chrono::nanoseconds(0)};
  }
  return Decision{false, due - now};
}

}  // namespace virtsnap::reconcilers
