#pragma once
// The per-node leader lock: of the agents on one node (two during a DaemonSet rollout) only the one
// holding the node's Lease acts. client-go's LeaderElector (tools/leaderelection) on a LeaseLock,
// driven by one thread on the injected clock.
//
// Guarantees:
//  - Acquire: a LeaseCandidate round at once, then every retryPeriod (plus up to 1.2x jitter) until
//    this agent holds the Lease. A second agent waits as long as the holder keeps renewing, and takes
//    over leaseDuration after it last saw the Lease change, or at once after a release.
//  - Lead: onStartedLeading, then a renewal every retryPeriod. A renewal that keeps failing for
//    renewDeadline (shorter than leaseDuration, so no successor can have started yet), or a round that
//    finds another holder, ends the leadership: onStoppedLeading, then this agent is a candidate again.
//  - stop(): ends the waits; if leading, calls onStoppedLeading and then (releaseOnStop) clears
//    holderIdentity in the Lease, so a successor does not wait out leaseDuration; joins the thread.
//  - onStartedLeading and onStoppedLeading alternate, starting with onStartedLeading; all callbacks
//    run on the elector's thread, must return promptly and must not call stop(). When
//    onStoppedLeading returns the agent must have stopped acting: the Lease may be released next.
//  - Every write is an optimistic update on the resourceVersion last seen (LeaseLock); a Conflict
//    means another candidate won that round. API errors are retried on the schedule above, never in a
//    hot loop. Give the elector an ApiClient whose call timeout is below renewDeadline.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/random_source.h"
#include "controller/kube/api_client.h"
#include "controller/kube/lease_candidate.h"
#include "controller/kube/lease_lock.h"

namespace virtsnap::kube {

struct LeaderElectionConfig {
  std::string ns;        // the Lease's namespace: the agent's own
  std::string name;      // the Lease, chosen by the caller: one per node for the per-node lock
  std::string identity;  // this candidate, unique among them: the pod name
  // client-go's defaults.
  std::chrono::seconds leaseDuration{15};
  std::chrono::milliseconds renewDeadline{10000};
  std::chrono::milliseconds retryPeriod{2000};
  bool releaseOnStop = true;
};

// Empty when the config is usable, else what is wrong with it (client-go's rules: a Lease name and an
// identity; leaseDuration > renewDeadline > 1.2 x retryPeriod; retryPeriod > 0).
std::string validateLeaderElectionConfig(const LeaderElectionConfig& config);

struct LeaderCallbacks {
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;  // the holder seen changed ("" : none)
};

class LeaderElector {
 public:
  // `config` must pass validateLeaderElectionConfig. `random` jitters the acquire retries.
  LeaderElector(ApiClientPtr client, LeaderElectionConfig config, LeaderCallbacks callbacks, ClockPtr clock,
                WallClock wallClock, RandomSourcePtr random);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts the elector's thread (once).
  void start();
  // Idempotent; see the guarantees above.
  void stop();

  // Between onStartedLeading and onStoppedLeading.
  bool isLeader() const;
  // The holder in the Lease as last seen; "" when none.
  std::string leader() const;
  // Rounds (reads or writes of the Lease) done so far, and the last one's error.
  std::uint64_t rounds() const;
  std::optional<KubeError> lastError() const;

 private:
  void run();
  bool acquire();  // false: stopped
  void renew();    // returns when leadership is lost or stop() came
  bool round();    // one LeaseCandidate round, then publishes what it saw
  // Waits on the clock until `deadline`; false if stop() came first.
  bool waitUntil(Clock::TimePoint deadline);
  bool stopping() const;
  void setLeading(bool leading);

  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  const ClockPtr clock_;
  const RandomSourcePtr random_;
  LeaseCandidate candidate_;    // the elector's thread only
  std::string reportedLeader_;  // the elector's thread only: the last holder given to onNewLeader

  mutable std::mutex mutex_;      // guards everything below
  std::condition_variable wake_;  // stopping_ turned true
  bool stopping_ = false;
  bool leading_ = false;
  std::string leader_;
  std::uint64_t rounds_ = 0;
  std::optional<KubeError> lastError_;
  std::thread thread_;
};

}  // namespace virtsnap::kube
