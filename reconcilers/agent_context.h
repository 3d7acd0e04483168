#pragma once
// What the three reconcilers share: the agent's settings, the hypervisor (driver and per-domain
// views), the API (client, the informers' caches, events) and a way to ask for other objects to be
// reconciled. The binary's main file builds one and hands it to each reconciler.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "controller/kube/api_client.h"
#include "controller/kube/event_recorder.h"
#include "controller/kube/object_cache.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/storage_roots.h"
#include "reconcilers/agent_observer.h"
#include "reconcilers/hypervisor_views.h"

namespace virtsnap::reconcilers {

// The names of the cache indexes the reconcilers read: a Snapshot's or SnapshotRevert's
// "<namespace>/<spec.domainName>"; and the same for only those still waiting to run (snapshotPending,
// revertPending), so that choosing a domain's next operation reads (and, from packed caches, decodes)
// the few waiting objects, not every Snapshot the domain has.
inline constexpr const char* kByDomainIndex = "byDomain";
inline constexpr const char* kPendingByDomainIndex = "pendingByDomain";

struct AgentSettings {
  std::string nodeName;
  std::string fieldManager = "virtsnap-controller";
  std::string storagePool;  // the libvirt pool `create:` disks are made in ("": such disks are refused)
  std::chrono::milliseconds shutdownTimeout{std::chrono::seconds(60)};  // graceful, then destroy
  std::chrono::nanoseconds pollPeriod{std::chrono::seconds(30)};        // libvirt has no snapshot events
  // A Domain's tree status is written once its tree stayed the same for treeStatusDelay, and at the
  // latest treeStatusMaxDelay after it fell behind (reconcilers/tree_status_debounce.h).
  std::chrono::nanoseconds treeStatusDelay{std::chrono::seconds(3)};
  std::chrono::nanoseconds treeStatusMaxDelay{std::chrono::seconds(30)};
};

// How a reconciler asks for other objects to be reconciled (the manager wires it to the controllers).
class AgentQueues {
 public:
  virtual ~AgentQueues() = default;
  virtual void enqueueDomain(const std::string& ns, const std::string& name) = 0;
  virtual void enqueueSnapshot(const std::string& ns, const std::string& name) = 0;
  virtual void enqueueRevert(const std::string& ns, const std::string& name) = 0;
};

struct AgentContext {
  AgentSettings settings;
  drivers::HypervisorDriver* driver = nullptr;
  drivers::Capabilities capabilities;  // what the host can do, read once at start
  std::shared_ptr<drivers::StorageRoots> storageRoots;
  HypervisorViews* views = nullptr;
  kube::ApiClientPtr client;
  const kube::ObjectCache* domains = nullptr;    // the informers' caches (Snapshot and SnapshotRevert
  const kube::ObjectCache* snapshots = nullptr;  // caches carry kByDomainIndex)
  const kube::ObjectCache* reverts = nullptr;
  kube::EventRecorderPtr events;
  AgentQueues* queues = nullptr;
  AgentObserver* observer = nullptr;  // null: nothing reported
  WallClock wallClock;                // condition and status timestamps
  ClockPtr clock;                     // deferrals (null: the system clock)
};

}  // namespace virtsnap::reconcilers
