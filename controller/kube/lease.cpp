#include "controller/kube/lease.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace virtsnap::kube {

namespace {

// client-go's JitterFactor for the acquire retries.
constexpr double kJitterFactor = 1.2;

}  // namespace

std::string validateLeaderElectionConfig(const LeaderElectionConfig& config) {
  if (config.name.empty() || config.ns.empty()) {
    return "the Lease needs a namespace and a name";
  }
  if (config.identity.empty()) {
    return "a leader election candidate needs an identity";
  }
  if (config.retryPeriod <= std::chrono::milliseconds(0)) {
    return "retryPeriod must be greater than zero";
  }
  if (config.leaseDuration <= config.renewDeadline) {
    return "leaseDuration must be greater than renewDeadline";
  }
  if (config.renewDeadline <= config.retryPeriod * kJitterFactor) {
    return "renewDeadline must be greater than 1.2 x retryPeriod";
  }
  return {};
}

LeaderElector::LeaderElector(ApiClientPtr client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                             ClockPtr clock, WallClock wallClock, RandomSourcePtr random)
    : config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      clock_(std::move(clock)),
      random_(std::move(random)),
      candidate_(LeaseLock(std::move(client), config_.ns, config_.name), config_.identity,
                 config_.leaseDuration, clock_, std::move(wallClock)) {
  assert(validateLeaderElectionConfig(config_).empty());
}

LeaderElector::~LeaderElector() {
  stop();
}

void LeaderElector::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  // Only stop() joins, and start() refuses once stopping_ is set, so thread_ is not touched concurrently.
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mutex_);
  return leading_;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mutex_);
  return leader_;
}

std::uint64_t LeaderElector::rounds() const {
  std::lock_guard lock(mutex_);
  return rounds_;
}

std::optional<KubeError> LeaderElector::lastError() const {
  std::lock_guard lock(mutex_);
  return lastError_;
}

bool LeaderElector::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void LeaderElector::setLeading(bool leading) {
  std::lock_guard lock(mutex_);
  leading_ = leading;
}

bool LeaderElector::waitUntil(Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  while (!stopping_ && clock_->now() < deadline) {
    clock_->waitUntil(lock, wake_, deadline);
  }
  return !stopping_;
}

void LeaderElector::run() {
  while (acquire()) {
    setLeading(true);
    if (callbacks_.onStartedLeading) {
      callbacks_.onStartedLeading();
    }
    renew();
    setLeading(false);
    if (callbacks_.onStoppedLeading) {
      callbacks_.onStoppedLeading();
    }
    if (stopping()) {
      break;
    }
  }
  if (config_.releaseOnStop) {
    candidate_.release();  // a no-op unless the Lease last seen names this candidate
    std::lock_guard lock(mutex_);
    lastError_ = candidate_.lastError();
  }
}

bool LeaderElector::round() {
  const bool holds = candidate_.tryAcquireOrRenew();
  const std::string holder = candidate_.observed().holderIdentity;
  {
    std::lock_guard lock(mutex_);
    ++rounds_;
    leader_ = holder;
    lastError_ = candidate_.lastError();
  }
  if (holder != reportedLeader_) {
    reportedLeader_ = holder;
    if (callbacks_.onNewLeader) {
      callbacks_.onNewLeader(holder);
    }
  }
  return holds;
}

bool LeaderElector::acquire() {
  for (;;) {
    if (stopping()) {
      return false;
    }
    if (round()) {
      return true;
    }
    const double jitter = 1.0 + (random_ ? random_->uniform() : 1.0) * kJitterFactor;
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retryPeriod * jitter);
    if (!waitUntil(clock_->now() + wait)) {
      return false;
    }
  }
}

void LeaderElector::renew() {
  for (;;) {
    // Try at once, then every retryPeriod, until a renewal succeeds or renewDeadline passes.
    const Clock::TimePoint deadline = clock_->now() + config_.renewDeadline;
    for (;;) {
      if (stopping()) {
        return;
      }
      if (round()) {
        break;
      }
      if (!candidate_.holds() && !candidate_.lastError()) {
        return;  // the Lease names a valid other holder: stop acting now, not at the deadline
      }
      const Clock::TimePoint now = clock_->now();
      if (now >= deadline || !waitUntil(std::min(now + config_.retryPeriod, deadline)) ||
          clock_->now() >= deadline) {
        return;  // renewDeadline passed without a renewal, or stop() came
      }
    }
    if (!waitUntil(clock_->now() + config_.retryPeriod)) {
      return;
    }
  }
}

}  // namespace virtsnap::kube
