#include "controller/kube/lease_candidate.h"

#include <algorithm>
#include <utility>

namespace virtsnap::kube {

LeaseCandidate::LeaseCandidate(LeaseLock lock, std::string identity, std::chrono::seconds leaseDuration,
                               ClockPtr clock, WallClock wallClock)
    : lock_(std::move(lock)),
      identity_(std::move(identity)),
      leaseDuration_(std::max(leaseDuration, std::chrono::seconds(1))),
      clock_(std::move(clock)),
      wallClock_(std::move(wallClock)) {}

std::chrono::system_clock::time_point LeaseCandidate::wallNow() const {
  // Microseconds: what a MicroTime keeps, so the record written equals the record read back.
  return std::chrono::floor<std::chrono::microseconds>(wallClock_ ? wallClock_()
                                                                  : std::chrono::system_clock::now());
}

bool LeaseCandidate::observedValid(Clock::TimePoint now) const {
  return observedAt_ + std::chrono::seconds(observed_.leaseDurationSeconds) > now;
}

void LeaseCandidate::observe(const LeaseRecord& record) {
  observed_ = record;
  observedAt_ = clock_->now();
}

bool LeaseCandidate::tryAcquireOrRenew() {
  lastError_.reset();
  const Clock::TimePoint now = clock_->now();
  const auto wall = wallNow();
  LeaseRecord desired;
  desired.holderIdentity = identity_;
  desired.leaseDurationSeconds = static_cast<std::int32_t>(leaseDuration_.count());
  desired.acquireTime = wall;
  desired.renewTime = wall;

  // 1. The holder renews on the Lease it last wrote, without reading it first; a Conflict (someone
  // wrote since) or any other failure falls back to reading it.
  if (holds() && observedValid(now)) {
    desired.acquireTime = observed_.acquireTime;
    desired.leaseTransitions = observed_.leaseTransitions;
    auto renewed = lock_.update(desired);
    if (renewed) {
      observe(renewed.value());
      return true;
    }
  }

  // 2. Read the Lease, or create it.
  auto current = lock_.get();
  if (!current) {
    if (current.error().kind != ErrorKind::NotFound) {
      lastError_ = current.error();
      return false;
    }
    auto created = lock_.create(desired);
    if (!created) {
      lastError_ = created.error();  // AlreadyExists: another candidate was first
      return false;
    }
    observe(created.value());
    return true;
  }

  // 3. The clock for expiry restarts only when the record changes, so skew between the holder's
  // clock and ours does not matter.
  if (current.value() != observed_) {
    observe(current.value());
  }
  if (!observed_.holderIdentity.empty() && observedValid(now) && !holds()) {
    return false;  // held, and not expired
  }

  // 4. Renew (slow path) or take over.
  if (holds()) {
    desired.acquireTime = observed_.acquireTime;
    desired.leaseTransitions = observed_.leaseTransitions;
  } else {
    desired.leaseTransitions = observed_.leaseTransitions + 1;
  }
  auto written = lock_.update(desired);
  if (!written) {
    lastError_ = written.error();  // Conflict: another candidate won this round
    return false;
  }
  observe(written.value());
  return true;
}

bool LeaseCandidate::release() {
  lastError_.reset();
  if (!holds()) {
    return true;
  }
  const auto wall = wallNow();
  LeaseRecord released;
  released.leaseDurationSeconds = 1;
  released.acquireTime = wall;
  released.renewTime = wall;
  released.leaseTransitions = observed_.leaseTransitions;
  auto written = lock_.update(released);
  if (!written) {
    lastError_ = written.error();
    return false;
  }
  observe(written.value());
  return true;
}

}  // namespace virtsnap::kube
