#pragma once
// One candidate's decisions about a Lease, one round at a time: client-go's tryAcquireOrRenew and
// release (tools/leaderelection/leaderelection.go), without the loops (LeaderElector in lease.h runs
// them). Each write is an optimistic update of the Lease last seen, so of two candidates racing for
// it one gets a Conflict and loses.
//
// Time: the candidate never compares the holder's renewTime with its own clock, because the holder's
// clock may be skewed. It remembers the record it last saw change and when (on the injected steady
// clock) it saw that; the Lease is free when it names no holder, or when leaseDurationSeconds have
// passed here since the record last changed. Times written into the Lease come from the wall clock.
// Not thread-safe: one thread drives it.

#include <chrono>
#include <optional>
#include <string>

#include "base/clock.h"
#include "controller/kube/lease_lock.h"

namespace virtsnap::kube {

class LeaseCandidate {
 public:
  LeaseCandidate(LeaseLock lock, std::string identity, std::chrono::seconds leaseDuration, ClockPtr clock,
                 WallClock wallClock);

  // One round: renews the Lease if this candidate holds it, takes it if it is free or expired,
  // creates it if missing. True when this candidate holds the Lease now. A failed round leaves the
  // cause in lastError().
  bool tryAcquireOrRenew();
  // If this candidate holds the Lease: clears holderIdentity (and sets a one-second duration), so a
  // successor takes it at its next round instead of waiting out the duration. True when nothing is
  // left to release.
  bool release();

  // The last record seen names this candidate.
  bool holds() const { return observed_.holderIdentity == identity_; }
  const LeaseRecord& observed() const { return observed_; }
  const std::string& identity() const { return identity_; }
  // Why the last round or release failed (nullopt: it did not, or it lost fairly to a valid holder).
  const std::optional<KubeError>& lastError() const { return lastError_; }

 private:
  // The observed record has been unchanged for less than its duration.
  bool observedValid(Clock::TimePoint now) const;
  void observe(const LeaseRecord& record);
  std::chrono::system_clock::time_point wallNow() const;

  LeaseLock lock_;
  const std::string identity_;
  const std::chrono::seconds leaseDuration_;
  const ClockPtr clock_;
  const WallClock wallClock_;
  LeaseRecord observed_;           // what the Lease said when last read or written
  Clock::TimePoint observedAt_{};  // when observed_ last changed, on clock_
  std::optional<KubeError> lastError_;
};

}  // namespace virtsnap::kube
