#pragma once
// One coordination.k8s.io/v1 Lease, read and written with optimistic concurrency (client-go's
// resourcelock.LeaseLock). get() and every successful write remember the Lease as the server
// returned it; update() writes the new record into that copy, resourceVersion included, so a write
// based on a stale read fails with ErrorKind::Conflict instead of overwriting someone else's.
// Not thread-safe: one candidate's thread owns it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "controller/kube/api_client.h"

namespace virtsnap::kube {

// What a Lease says about its holder (client-go's LeaderElectionRecord); times are MicroTime on the wire.
struct LeaseRecord {
  std::string holderIdentity;  // empty: nobody holds it
  std::int32_t leaseDurationSeconds = 0;
  std::optional<std::chrono::system_clock::time_point> acquireTime;
  std::optional<std::chrono::system_clock::time_point> renewTime;
  std::int32_t leaseTransitions = 0;

  // The Lease's spec.
  nlohmann::json toSpec() const;
  static LeaseRecord fromSpec(const nlohmann::json& spec);

  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

class LeaseLock {
 public:
  LeaseLock(ApiClientPtr client, std::string ns, std::string name);

  // The record in the Lease (NotFound when there is no Lease), remembered for update().
  KubeResult<LeaseRecord> get();
  // Creates the Lease holding `record`; AlreadyExists when another candidate was first.
  KubeResult<LeaseRecord> create(const LeaseRecord& record);
  // Writes `record` into the Lease last read or written; Conflict when it changed since.
  KubeResult<LeaseRecord> update(const LeaseRecord& record);

  // "<namespace>/<name>", for messages.
  std::string describe() const;

 private:
  KubeResult<LeaseRecord> remember(KubeResult<nlohmann::json> answer);

  const ApiClientPtr client_;
  const std::string ns_;
  const std::string name_;
  std::optional<nlohmann::json> lease_;  // the Lease as the server last returned it
};

}  // namespace virtsnap::kube
