#include "controller/agent/agent_manager.h"

#include <algorithm>

#include "base/logger.h"
#include "controller/agent/object_count_metrics.h"
#include "controller/kube/event_recorder_api.h"
#include "controller/kube/event_recorder_metrics.h"
#include "controller/kube/write_through_client.h"
#include "crds/api_names.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "reconcilers/domain_reconciler.h"
#include "reconcilers/operation_order.h"
#include "reconcilers/snapshot_reconciler.h"
#include "reconcilers/snapshot_revert_reconciler.h"

namespace virtsnap::agent {
namespace {

// "<namespace>/<spec.domainName>" of a Snapshot or SnapshotRevert (`pending` tells whether one still
// waits to run): every one by its domain, and those waiting by their domain.
kube::Indexers byDomain(bool (*pending)(const nlohmann::json&)) {
  return {{reconcilers::kByDomainIndex,
           [](const nlohmann::json& object) -> std::vector<std::string> {
             std::string key = reconcilers::domainKeyOf(object);
             if (key.empty()) {
               return {};
             }
             return {std::move(key)};
           }},
          {reconcilers::kPendingByDomainIndex,
           [pending](const nlohmann::json& object) -> std::vector<std::string> {
             std::string key = reconcilers::domainKeyOf(object);
             if (key.empty() || !pending(object)) {
               return {};
             }
             return {std::move(key)};
           }}};
}

// The Snapshot cache's indexes: byDomain's, and the one the object-count metrics read (so a scrape
// decodes no Snapshot).
kube::Indexers snapshotIndexers() {
  kube::Indexers indexers = byDomain(reconcilers::snapshotPending);
  indexers.merge(snapshotCountIndexers());
  return indexers;
}

kube::ObjectTransform stripOnly() {
  return [](nlohmann::json&& object) -> std::optional<nlohmann::json> {
    stripUnread(object);
    return std::move(object);
  };
}

// Being deleted and still holding the Snapshot finalizer.
bool awaitsFinalizer(const nlohmann::json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object() || !metadata->contains("deletionTimestamp")) {
    return false;
  }
  auto finalizers = metadata->find("finalizers");
  return finalizers != metadata->end() && finalizers->is_array() &&
         std::any_of(finalizers->begin(), finalizers->end(), [](const nlohmann::json& finalizer) {
           return finalizer.is_string() && finalizer.get<std::string>() == crds::kSnapshotFinalizer;
         });
}

kube::InformerOptions informerOptions(const meta::ResourceType& type, std::string fieldSelector,
                                      kube::Indexers indexers, kube::ObjectTransform transform,
                                      kube::CacheStorage storage,
                                      std::optional<std::chrono::nanoseconds> resync) {
  kube::InformerOptions options;
  options.watcher.type = type;
  options.watcher.fieldSelector = std::move(fieldSelector);
  options.indexers = std::move(indexers);
  // Choosing a domain's next operation reads the first waiting one of each kind only (operation_order.h).
  options.indexOrders = {{reconcilers::kPendingByDomainIndex, reconcilers::operationOrderKey}};
  // The object-count metrics only count (no member per Snapshot held).
  options.countedIndexes = {kSnapshotCountIndex};
  options.transform = std::move(transform);
  options.storage = storage;
  options.resyncPeriod = resync;
  options.onFailure = [name = type.plural](const kube::WatcherFailure& failure) {
    logLine(LogLevel::Warning, "informer/" + name, "watch failed: " + failure.error.message);
  };
  return options;
}

// Whether `snapshot`'s deletion leaves its libvirt snapshot in place (spec.deletionPolicy Retain).
bool retainedOnDeletion(const nlohmann::json& snapshot) {
  const auto spec = snapshot.find("spec");
  if (spec == snapshot.end() || !spec->is_object()) {
    return false;
  }
  const auto policy = spec->find("deletionPolicy");
  return policy != spec->end() && policy->is_string() && policy->get_ref<const std::string&>() == "Retain";
}

// Whether the cached Domain of `snapshot` lists its name among the domain's unmanaged snapshots.
bool listedAsUnmanaged(const kube::ObjectCache& domains, const nlohmann::json& snapshot) {
  const kube::ObjectPtr domain = domains.get(reconcilers::domainKeyOf(snapshot));
  if (!domain) {
    return false;
  }
  const auto status = domain->find("status");
  if (status == domain->end() || !status->is_object()) {
    return false;
  }
  const auto unmanaged = status->find("unmanagedSnapshots");
  if (unmanaged == status->end() || !unmanaged->is_array()) {
    return false;
  }
  const auto metadata = snapshot.find("metadata");
  if (metadata == snapshot.end() || !metadata->is_object() || !metadata->contains("name")) {
    return false;
  }
  return std::find(unmanaged->begin(), unmanaged->end(), (*metadata)["name"]) != unmanaged->end();
}

}  // namespace

void stripUnread(nlohmann::json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return;
  }
  metadata->erase("managedFields");
  auto annotations = metadata->find("annotations");
  if (annotations != metadata->end() && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  }
}

// Kept besides this node's Domains' objects: one being deleted that still holds the finalizer,
// whatever its Domain. When the Domain itself is gone no node's cache holds its objects, yet their
// finalizers must be released (the SnapshotReconciler asks the API: Domain Gone -> released; another
// node's -> left alone); such objects leave every cache once the finalizer goes.
kube::ObjectTransform ofThisNodesDomains(const kube::ObjectCache& domains) {
  return [&domains](nlohmann::json&& object) -> std::optional<nlohmann::json> {
    stripUnread(object);
    const std::string domainKey = reconcilers::domainKeyOf(object);
    if ((!domainKey.empty() && domains.get(domainKey)) || awaitsFinalizer(object)) {
      return std::move(object);
    }
    return std::nullopt;
  };
}

std::string agentLeaseName(const std::string& nodeName) {
  return "virtsnap-agent-" + nodeName;
}

kube::LeaderElectionConfig agentLeaseConfig(const AgentManagerOptions& options) {
  kube::LeaderElectionConfig lease;
  lease.ns = options.leaseNamespace;
  lease.name = agentLeaseName(options.settings.nodeName);
  lease.identity = options.identity;
  lease.leaseDuration = options.leaseDuration;
  lease.renewDeadline = options.leaseRenewDeadline;
  lease.retryPeriod = options.leaseRetryPeriod;
  return lease;
}

AgentManager::AgentManager(AgentManagerOptions options, kube::ApiClientPtr client,
                           kube::ApiClientPtr leaseClient, drivers::HypervisorDriver& driver,
                           std::shared_ptr<prometheus::Registry> registry)
    : options_(std::move(options)),
      client_(std::move(client)),
      registry_(std::move(registry)),
      driver_(driver, registry_),
      clock_(systemClock()),
      random_(systemRandom()),
      observer_(registry_),
      leaderMetrics_(registry_, agentLeaseName(options_.settings.nodeName)),
      views_(driver_, clock_) {
  const std::string& node = options_.settings.nodeName;
  kube::ApiEventRecorderOptions recorderOptions;
  recorderOptions.component = "virtsnap-agent";
  recorderOptions.host = node;
  recorder_ =
      std::make_shared<kube::ApiEventRecorder>(client_, recorderOptions, clock_, WallClock{}, random_);

  // Domains: few, read by every reconcile, kept as trees. Snapshots and SnapshotReverts: only this
  // node's Domains' (ofThisNodesDomains), packed (a fraction of a tree's memory, decoded per read).
  domains_ = std::make_unique<kube::Informer>(
      client_,
      informerOptions(meta::Resource<crds::Domain>::type(), "spec.nodeName=" + node, {}, stripOnly(),
                      kube::CacheStorage::Objects, options_.resyncPeriod),
      clock_, random_);
  snapshots_ = std::make_unique<kube::Informer>(
      client_,
      informerOptions(meta::Resource<crds::Snapshot>::type(), "", snapshotIndexers(),
                      ofThisNodesDomains(domains_->cache()), kube::CacheStorage::Packed,
                      options_.resyncPeriod),
      clock_, random_);
  reverts_ = std::make_unique<kube::Informer>(
      client_,
      informerOptions(meta::Resource<crds::SnapshotRevert>::type(), "", byDomain(reconcilers::revertPending),
                      ofThisNodesDomains(domains_->cache()), kube::CacheStorage::Packed,
                      options_.resyncPeriod),
      clock_, random_);

  context_.settings = options_.settings;
  context_.driver = &driver_;
  context_.storageRoots = std::make_shared<drivers::StorageRoots>(options_.storageRoots);
  context_.views = &views_;
  // The reconcilers' own writes go through to the caches (write_through_client.h): a Snapshot's Ready
  // status leaves the domain's pending index, and the handlers enqueue the next operation, as soon as
  // the server answers, not one watch round trip later.
  auto writeThrough = std::make_shared<kube::WriteThroughClient>(client_);
  writeThrough->route(meta::Resource<crds::Domain>::type(), *domains_);
  writeThrough->route(meta::Resource<crds::Snapshot>::type(), *snapshots_);
  writeThrough->route(meta::Resource<crds::SnapshotRevert>::type(), *reverts_);
  context_.client = std::move(writeThrough);
  context_.domains = &domains_->cache();
  context_.snapshots = &snapshots_->cache();
  context_.reverts = &reverts_->cache();
  context_.events = recorder_;
  context_.queues = this;
  context_.observer = &observer_;
  context_.clock = clock_;
  objectCounts_ = std::make_shared<ObjectCountMetrics>(domains_->cache(), snapshots_->cache());
  eventCounts_ =
      std::make_shared<kube::EventRecorderMetrics>([recorder = recorder_] { return recorder->stats(); });

  auto controllerOptions = [&](const std::string& name) {
    kube::ControllerOptions controller;
    controller.name = name;
    controller.workers = options_.workers;
    controller.clock = clock_;
    controller.registry = registry_;
    return controller;
  };
  domainController_ = std::make_unique<kube::Controller>(
      controllerOptions("domain"), std::make_shared<reconcilers::DomainReconciler>(context_));
  snapshotController_ = std::make_unique<kube::Controller>(
      controllerOptions("snapshot"), std::make_shared<reconcilers::SnapshotReconciler>(context_));
  revertController_ = std::make_unique<kube::Controller>(
      controllerOptions("snapshotrevert"), std::make_shared<reconcilers::SnapshotRevertReconciler>(context_));
  wireHandlers();

  kube::LeaderCallbacks callbacks;
  callbacks.onStartedLeading = [this] {
    leaderMetrics_.leading(true);
    std::lock_guard lock(mutex_);
    leading_ = true;
    leadingNow_ = true;
    changed_.notify_all();
  };
  callbacks.onStoppedLeading = [this] {
    leaderMetrics_.leading(false);
    std::lock_guard lock(mutex_);
    leading_ = false;
    leadingNow_ = false;
    changed_.notify_all();
  };
  elector_ = std::make_unique<kube::LeaderElector>(std::move(leaseClient), agentLeaseConfig(options_),
                                                   callbacks, clock_, WallClock{}, random_);
}

AgentManager::~AgentManager() {
  stop();
}

void AgentManager::wireHandlers() {
  kube::EventHandler domainEvents;
  auto enqueueDomainObject = [this](const kube::ObjectPtr& object) {
    domainController_->enqueue(kube::objectKey(*object));
  };
  // A Domain new to this node (created, moved here, or first listed): the Snapshots and
  // SnapshotReverts the transform dropped while it was away are listed again. A relist is the
  // watcher's own consistent path (list, then watch from its resourceVersion), so none is missed and
  // no stale one comes back; Domains arrive rarely, and requests made during one relist share the next.
  domainEvents.onAdd = [this, enqueueDomainObject](const kube::ObjectPtr& object) {
    enqueueDomainObject(object);
    snapshots_->relist();
    reverts_->relist();
  };
  domainEvents.onUpdate = [enqueueDomainObject](const kube::ObjectPtr&, const kube::ObjectPtr& current) {
    enqueueDomainObject(current);
  };
  // A Domain gone from this node (deleted, or moved to another): its objects leave the caches now (the
  // Domain cache no longer holds it, so the transform drops them).
  domainEvents.onDelete = [this, enqueueDomainObject](const kube::ObjectPtr& last, bool) {
    enqueueDomainObject(last);
    snapshots_->refilter();
    reverts_->refilter();
  };
  domains_->addHandler(std::move(domainEvents));

  auto domainOf = [this](const nlohmann::json& object) {
    if (std::string key = reconcilers::domainKeyOf(object); !key.empty()) {
      domainController_->enqueue(key);
    }
  };
  // For a tree change alone: the Domain writes its tree once the tree stayed the same for the delay
  // (its debounce dates the quiet time from the view's change), so it is looked at then, not now
  // (now, its libvirt checks under the view's lock would meet the user's next operation). Several
  // within the delay are one reconcile: the queue keeps the earliest.
  auto domainTreeOf = [this](const nlohmann::json& object) {
    if (std::string key = reconcilers::domainKeyOf(object); !key.empty()) {
      domainController_->enqueueAfter(key, options_.settings.treeStatusDelay);
    }
  };
  // The Domain is reconciled for a Snapshot's sake only when it has something to do: its reconcile
  // holds the domain's view while it checks the domain on libvirt, and the Snapshot's create waits.
  kube::EventHandler snapshotEvents;
  snapshotEvents.onAdd = [this, domainOf](const kube::ObjectPtr& object) {
    snapshotController_->enqueue(kube::objectKey(*object));
    if (listedAsUnmanaged(domains_->cache(), *object)) {
      domainOf(*object);  // the Domain's list of unmanaged snapshots shrinks
    }
  };
  snapshotEvents.onUpdate = [this, domainTreeOf](const kube::ObjectPtr& previous,
                                                 const kube::ObjectPtr& current) {
    snapshotController_->enqueue(kube::objectKey(*current));
    if (reconcilers::snapshotPending(*previous) && !reconcilers::snapshotPending(*current)) {
      if (!enqueueNextOperation(*current)) {
        domainTreeOf(*current);  // the last one: the Domain writes the tree it deferred
      }
    }
  };
  snapshotEvents.onDelete = [this, domainOf, domainTreeOf](const kube::ObjectPtr& last, bool) {
    // Retained on the hypervisor, the snapshot joins the unmanaged ones without moving the view's
    // tree: a change the debounce dates from its first sight, so the Domain looks at once.
    if (retainedOnDeletion(*last)) {
      domainOf(*last);
    } else {
      domainTreeOf(*last);
    }
    enqueueNextOperation(*last);
  };
  snapshots_->addHandler(std::move(snapshotEvents));

  kube::EventHandler revertEvents;
  revertEvents.onAdd = [this](const kube::ObjectPtr& object) {
    revertController_->enqueue(kube::objectKey(*object));
  };
  revertEvents.onUpdate = [this, domainOf](const kube::ObjectPtr& previous, const kube::ObjectPtr& current) {
    revertController_->enqueue(kube::objectKey(*current));
    if (reconcilers::revertPending(*previous) && !reconcilers::revertPending(*current)) {
      enqueueNextOperation(*current);
      domainOf(*current);
    }
  };
  revertEvents.onDelete = [this](const kube::ObjectPtr& last, bool) { enqueueNextOperation(*last); };
  reverts_->addHandler(std::move(revertEvents));
}

bool AgentManager::enqueueNextOperation(const nlohmann::json& object) {
  const std::string domainKey = reconcilers::domainKeyOf(object);
  auto next = reconcilers::nextOperation(snapshots_->cache(), reverts_->cache(), domainKey);
  if (!next) {
    return false;
  }
  const std::string ns = kube::Request::fromKey(domainKey).value_or(kube::Request{}).ns;
  if (next->kind == reconcilers::PendingOperation::Kind::Snapshot) {
    enqueueSnapshot(ns, next->name);
  } else {
    enqueueRevert(ns, next->name);
  }
  return true;
}

std::vector<std::shared_ptr<prometheus::Collectable>> AgentManager::scrapedMetrics() const {
  return {objectCounts_, eventCounts_};
}

void AgentManager::enqueueDomain(const std::string& ns, const std::string& name) {
  domainController_->enqueue(kube::objectKey(ns, name));
}

void AgentManager::enqueueSnapshot(const std::string& ns, const std::string& name) {
  snapshotController_->enqueue(kube::objectKey(ns, name));
}

void AgentManager::enqueueRevert(const std::string& ns, const std::string& name) {
  revertController_->enqueue(kube::objectKey(ns, name));
}

Expected<void, std::string> AgentManager::start() {
  auto capabilities = driver_.capabilities();
  if (!capabilities) {
    return unexpected("cannot reach the hypervisor: " + capabilities.error().message);
  }
  context_.capabilities = capabilities.value();
  elector_->start();
  thread_ = std::thread([this] { run(); });
  return {};
}

void AgentManager::run() {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return leading_ || stopping_; });
    if (stopping_) {
      return;
    }
  }
  logLine(LogLevel::Info, "manager", "holding the node's Lease; starting the informers");
  // The Domains first: the Snapshot and SnapshotRevert transforms admit by the Domain cache.
  auto synced = [this](kube::Informer& informer) {
    while (!informer.waitForSync(clock_->now() + std::chrono::milliseconds(200))) {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return false;
      }
    }
    return true;
  };
  domains_->start();
  if (!synced(*domains_)) {
    return;
  }
  snapshots_->start();
  reverts_->start();
  if (!synced(*snapshots_) || !synced(*reverts_)) {
    return;
  }
  synced_ = true;
  domainController_->start();
  snapshotController_->start();
  revertController_->start();
  std::unique_lock lock(mutex_);
  ready_ = true;
  changed_.notify_all();
  logLine(LogLevel::Info, "manager", "caches synced; workers started");
  changed_.wait(lock, [this] { return !leading_ || stopping_; });
  if (!stopping_) {
    logLine(LogLevel::Error, "manager", "lost the node's Lease; stopping");
    ready_ = false;
    failed_ = true;
    changed_.notify_all();
  }
}

bool AgentManager::waitReady(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return ready_.load() || failed_.load() || stopping_; });
  return ready_;
}

void AgentManager::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  ready_ = false;
  // No new work; reconciles in flight (and their hypervisor operations) finish first.
  domainController_->stop();
  snapshotController_->stop();
  revertController_->stop();
  domains_->stop();
  snapshots_->stop();
  reverts_->stop();
  recorder_->flush(std::chrono::seconds(2));
  recorder_->stop();
  elector_->stop();  // releases the Lease, so a successor need not wait it out
}

}  // namespace virtsnap::agent
