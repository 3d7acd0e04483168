#pragma once
// The agent's manager (controller-runtime's Manager): starts things in order - the node's Lease held,
// then the informers' caches synced, then the reconcilers' workers - and reports readiness only then;
// stop() stops taking work, lets the hypervisor operations in flight finish, then releases the
// Lease. Node ownership: the Domain informer watches only this node's Domains (field selector
// spec.nodeName); the Snapshot and SnapshotRevert informers keep only the objects of the Domains in
// that cache (a transform drops the rest, a Domain's arrival relists them, its departure refilters
// them), stripped of what no reconciler reads and packed (kube::CacheStorage::Packed); the caches are
// indexed by Domain, and every reconciler checks ownership again before any hypervisor call.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/random_source.h"
#include "controller/agent/metered_driver.h"
#include "controller/agent/reconcile_observer_metrics.h"
#include "controller/kube/api_client.h"
#include "controller/kube/controller.h"
#include "controller/kube/event_recorder.h"
#include "controller/kube/informer.h"
#include "controller/kube/leader_election_metrics.h"
#include "controller/kube/lease.h"
#include "drivers/hypervisor_driver.h"
#include "reconcilers/agent_context.h"

namespace virtsnap::kube {
class ApiEventRecorder;
}

namespace virtsnap::agent {

struct AgentManagerOptions {
  reconcilers::AgentSettings settings;
  std::vector<std::filesystem::path> storageRoots;
  int workers = 4;  // per kind
  std::optional<std::chrono::nanoseconds> resyncPeriod = std::chrono::minutes(10);
  std::string leaseNamespace = "virtsnap-system";
  std::string identity;  // this agent among the candidates for the node's Lease (the pod name)
  // The node's Lease (client-go's defaults): a successor takes over leaseDuration after the holder's
  // last renewal; the holder gives up after renewDeadline without one; rounds every retryPeriod.
  std::chrono::seconds leaseDuration{15};
  std::chrono::milliseconds leaseRenewDeadline{10000};
  std::chrono::milliseconds leaseRetryPeriod{2000};
};

// Drops what no reconciler reads from an object: metadata.managedFields and kubectl's
// last-applied-configuration annotation (the agent writes through merge patches and /status, which
// keep both on the server). The transform of the Domain informer.
void stripUnread(nlohmann::json& object);
// The transform of the Snapshot and SnapshotRevert informers: stripUnread, and only objects whose
// Domain is in `domains` (this node's), or which are being deleted and still hold the Snapshot
// finalizer (their Domain may be gone: see agent_manager.cpp). `domains` must outlive it.
kube::ObjectTransform ofThisNodesDomains(const kube::ObjectCache& domains);

// The node's Lease: "virtsnap-agent-<node>".
std::string agentLeaseName(const std::string& nodeName);

// The leader election the manager runs for these options; kube::validateLeaderElectionConfig on it
// says whether they are usable (the manager requires that they are).
kube::LeaderElectionConfig agentLeaseConfig(const AgentManagerOptions& options);

class AgentManager final : public reconcilers::AgentQueues {
 public:
  // `leaseClient` renews the node's Lease: give it a call timeout below the renew deadline, so one
  // hung call cannot cost the Lease.
  AgentManager(AgentManagerOptions options, kube::ApiClientPtr client, kube::ApiClientPtr leaseClient,
               drivers::HypervisorDriver& driver, std::shared_ptr<prometheus::Registry> registry);
  ~AgentManager() override;
  AgentManager(const AgentManager&) = delete;
  AgentManager& operator=(const AgentManager&) = delete;

  // Reads the host's capabilities, then starts the manager's thread; an error when the hypervisor
  // cannot be reached at all.
  Expected<void, std::string> start();
  // Stops taking work, waits for the reconciles in flight, stops the watches, releases the Lease.
  void stop();

  // The Lease is held, the caches synced and the workers running.
  bool ready() const { return ready_.load(); }
  // The readiness checks one by one: this agent holds the node's Lease; the informers' caches synced.
  bool leading() const { return leadingNow_.load(); }
  bool cachesSynced() const { return synced_.load(); }
  // The metrics computed at scrape time (object counts from the caches, the event recorder's
  // outcomes), to register with the exposer beside the registry; they read the manager's members, so
  // unregister them before the manager goes.
  std::vector<std::shared_ptr<prometheus::Collectable>> scrapedMetrics() const;
  // The Lease was lost while leading: the process should exit (as controller-runtime's does).
  bool failed() const { return failed_.load(); }
  // Blocks until ready(), failed() or `timeout`.
  bool waitReady(std::chrono::milliseconds timeout);

  // The informers' caches, for inspection (tests, debugging); they live as long as the manager.
  const kube::ObjectCache& domainCache() const { return domains_->cache(); }
  const kube::ObjectCache& snapshotCache() const { return snapshots_->cache(); }
  const kube::ObjectCache& revertCache() const { return reverts_->cache(); }

  void enqueueDomain(const std::string& ns, const std::string& name) override;
  void enqueueSnapshot(const std::string& ns, const std::string& name) override;
  void enqueueRevert(const std::string& ns, const std::string& name) override;

 private:
  void run();
  void wireHandlers();
  // On a Snapshot or SnapshotRevert change: the domain's next operation, when one just finished.
  // Enqueues the next create or revert of `object`'s domain; false when none waits.
  bool enqueueNextOperation(const nlohmann::json& object);

  const AgentManagerOptions options_;
  const kube::ApiClientPtr client_;
  const std::shared_ptr<prometheus::Registry> registry_;
  MeteredDriver driver_;  // the hypervisor, every call timed
  const ClockPtr clock_;
  const RandomSourcePtr random_;
  ReconcileObserverMetrics observer_;
  kube::LeaderElectionMetrics leaderMetrics_;

  reconcilers::HypervisorViews views_;
  reconcilers::AgentContext context_;
  std::shared_ptr<kube::ApiEventRecorder> recorder_;
  std::unique_ptr<kube::Informer> domains_;
  std::unique_ptr<kube::Informer> snapshots_;
  std::unique_ptr<kube::Informer> reverts_;
  std::unique_ptr<kube::Controller> domainController_;
  std::unique_ptr<kube::Controller> snapshotController_;
  std::unique_ptr<kube::Controller> revertController_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::shared_ptr<prometheus::Collectable> objectCounts_;
  std::shared_ptr<prometheus::Collectable> eventCounts_;

  std::mutex mutex_;  // guards stopping_, leading_ and the waits on changed_
  std::condition_variable changed_;
  bool stopping_ = false;
  bool leading_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> leadingNow_{false};
  std::atomic<bool> synced_{false};
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace virtsnap::agent
