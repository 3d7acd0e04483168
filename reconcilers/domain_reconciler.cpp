#include "reconcilers/domain_reconciler.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "reconcilers/definition_drift.h"
#include "reconcilers/domain_translation.h"
#include "reconcilers/object_writes.h"
#include "reconcilers/operation_order.h"
#include "reconcilers/spec_problems.h"
#include "reconcilers/status_from_view.h"

namespace virtsnap::reconcilers {
namespace {

using crds::Domain;
using crds::DomainStatus;
using kube::ReconcileResult;

crds::DomainState crdState(drivers::DomainState state) {
  using D = drivers::DomainState;
  using C = crds::DomainState;
  switch (state) {
    case D::Running:
      return C::Running;
    case D::Blocked:
      return C::Blocked;
    case D::Paused:
      return C::Paused;
    case D::ShuttingDown:
      return C::Shutdown;
    case D::Shutoff:
      return C::Shutoff;
    case D::Crashed:
      return C::Crashed;
    case D::PMSuspended:
      return C::PMSuspended;
    case D::NoState:
      break;
  }
  return C::NoState;
}

// A metadata recovery that failed is tried again with the same definitions after this many poll
// periods (5 minutes at the default 30 s); a changed definition is tried at once.
constexpr int kRecoveryRetryPolls = 10;

ReconcileOutcome stalled(std::string reason, std::string message) {
  return ReconcileOutcome{ReconcileState::Stalled, std::move(reason), std::move(message)};
}

// A DNS-1123 subdomain: what a Snapshot's metadata.name may be.
bool isSnapshotObjectName(const std::string& name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool edge = i == 0 || i + 1 == name.size();
    if (!alnum && (edge || (c != '-' && c != '.'))) {
      return false;
    }
  }
  return true;
}

// The fields of a Domain's status that applyTreeFacts sets.
bool sameTree(const DomainStatus& a, const DomainStatus& b) {
  return a.currentSnapshot == b.currentSnapshot && a.snapshotCount == b.snapshotCount &&
         a.snapshotTree == b.snapshotTree && a.unmanagedSnapshots == b.unmanagedSnapshots;
}

void copyTree(const DomainStatus& from, DomainStatus& to) {
  to.currentSnapshot = from.currentSnapshot;
  to.snapshotCount = from.snapshotCount;
  to.snapshotTree = from.snapshotTree;
  to.unmanagedSnapshots = from.unmanagedSnapshots;
}

// Tells one tree's fields from another's (a collision only ends a deferral early).
std::size_t treeFingerprint(const DomainStatus& status) {
  std::string text =
      status.currentSnapshot.value_or("") + '\n' + std::to_string(status.snapshotCount.value_or(-1));
  for (const auto& entry : status.snapshotTree.value_or(std::vector<crds::SnapshotTreeEntry>{})) {
    text += '\n' + entry.name + '\0' + entry.parent.value_or("") + (entry.current.value_or(false) ? "*" : "");
  }
  text += "\n\n";
  for (const auto& name : status.unmanagedSnapshots.value_or(std::vector<std::string>{})) {
    text += name + '\n';
  }
  return std::hash<std::string>{}(text);
}

// When the view saw its tree move; none for a view that never saw it move (an empty domain's).
std::optional<virtsnap::Clock::TimePoint> viewChangedAt(const DomainView& view) {
  if (view.changedAt == virtsnap::Clock::TimePoint{}) {
    return std::nullopt;
  }
  return view.changedAt;
}

}  // namespace

void DomainReconciler::event(const Domain& domain, kube::EventType type, const std::string& reason,
                             const std::string& message) {
  if (context_.events) {
    context_.events->event(referenceTo(domain), type, reason, message);
  }
}

ReconcileResult DomainReconciler::reconcile(const kube::Request& request) {
  kube::ObjectPtr cached = context_.domains->get(request.key());
  if (behindOwnWrite(writes_, request.key(), cached)) {
    return ReconcileResult::done();  // the watch event of that write brings the object again
  }
  if (!cached) {
    treeStatus_.forget(request.key());
    return ReconcileResult::done();  // gone: its finalizer was handled before it went
  }
  auto decoded = crds::decodeDomain(*cached);
  if (!decoded) {
    return refuseUndecodable(request, *cached, decoded.error().path + ": " + decoded.error().message);
  }
  Domain domain = std::move(decoded).value();
  if (domain.spec.nodeName != context_.settings.nodeName) {
    return ReconcileResult::done();  // another node's (checked again before any hypervisor call)
  }
  if (domain.metadata.isBeingDeleted()) {
    return finalize(domain);
  }
  if (!domain.metadata.hasFinalizer(crds::kDomainFinalizer)) {
    auto updated = setFinalizer(client_, writes_, domain, crds::kDomainFinalizer, true);
    if (!updated) {
      return ReconcileResult::error("adding the finalizer: " + updated.error().message);
    }
    domain = std::move(updated).value();
  }

  DomainStatus status = domain.status.value_or(DomainStatus{});
  Converged converged = converge(domain, status);
  const std::int64_t generation = domain.metadata.generation.value_or(0);
  applyReconcileOutcome(status.conditions, converged.outcome, generation, wallNow(context_.wallClock));
  status.observedGeneration = generation;
  if (converged.deferredTree && !(domain.status && *domain.status == status)) {
    copyTree(*converged.deferredTree, status);  // written anyway: the tree goes along at no cost
    converged.treeCurrent = true;
    converged.treeDueIn.reset();
  }
  auto written = writeStatus(client_, writes_, domain, status);
  if (!written) {
    return ReconcileResult::error("writing the status: " + written.error().message);
  }
  if (converged.treeCurrent) {
    treeStatus_.written(request.key(), converged.treeReadAt);
  }
  if (converged.retry) {
    return ReconcileResult::error(converged.retryMessage);
  }
  if (converged.outcome.state == ReconcileState::Stalled) {
    if (converged.outcome.reason == "TreeRecoveryFailed") {
      // A changed definition is tried at once; the same ones again only after a while.
      return ReconcileResult::requeueAfter(kRecoveryRetryPolls * context_.settings.pollPeriod);
    }
    return ReconcileResult::done();  // nothing changes until the object does
  }
  // The domain is defined (and its status says so): the next create or revert waiting for it may run.
  const std::string ns = domain.metadata.namespaceName.value_or("");
  const std::string domainKey = kube::objectKey(ns, domain.metadata.name.value_or(""));
  if (auto next = nextOperation(*context_.snapshots, *context_.reverts, domainKey)) {
    if (next->kind == PendingOperation::Kind::Snapshot) {
      context_.queues->enqueueSnapshot(ns, next->name);
    } else {
      context_.queues->enqueueRevert(ns, next->name);
    }
  }
  // A deferred tree write comes back when due; the queue keeps the earlier of two requeues.
  return ReconcileResult::requeueAfter(std::min<std::chrono::nanoseconds>(
      context_.settings.pollPeriod, converged.treeDueIn.value_or(context_.settings.pollPeriod)));
}

ReconcileResult DomainReconciler::refuseUndecodable(const kube::Request& request,
                                                    const nlohmann::json& object,
                                                    const std::string& problem) {
  const auto terminal = [&] {
    return ReconcileResult::terminalError("Domain " + request.key() + " does not decode: " + problem);
  };
  // The rest of the object, read with the spec set aside (its node name kept, to tell whose it is).
  nlohmann::json readable = object;
  const nlohmann::json* node = nullptr;
  if (object.contains("spec") && object["spec"].is_object() && object["spec"].contains("nodeName")) {
    node = &object["spec"]["nodeName"];
  }
  if (node == nullptr || !node->is_string() || *node != context_.settings.nodeName) {
    return terminal();
  }
  readable["spec"] = nlohmann::json{{"nodeName", *node}};
  auto domain = crds::decodeDomain(readable);
  if (!domain || domain->metadata.isBeingDeleted()) {
    return terminal();
  }
  DomainStatus status = domain->status.value_or(DomainStatus{});
  const std::int64_t generation = domain->metadata.generation.value_or(0);
  applyReconcileOutcome(status.conditions, stalled("InvalidSpec", "the spec is invalid: " + problem),
                        generation, wallNow(context_.wallClock));
  status.observedGeneration = generation;
  auto written = writeStatus(client_, writes_, *domain, status);
  if (!written) {
    return ReconcileResult::error("writing the status: " + written.error().message);
  }
  return ReconcileResult::done();  // nothing changes until the object does
}

DomainReconciler::Converged DomainReconciler::converge(const Domain& domain, DomainStatus& status) {
  if (auto problems = crds::validateDomainSpec(domain.spec); !problems.empty()) {
    return Converged{stalled("InvalidSpec", "the spec is invalid: " + describeProblems(problems))};
  }
  if (auto problem = hypervisorProblem(domain)) {
    return Converged{stalled("InvalidSpec", "the spec is invalid: " + *problem)};
  }
  const std::string name = hypervisorName(domain);
  auto access = context_.views->access(name);

  // Every snapshot whose place in the tree changed is reconciled again, whichever refresh saw it.
  std::set<std::string> changed;
  auto refresh = [&](bool force) -> std::optional<Converged> {
    auto refreshed = force ? context_.views->refresh(access)
                           // The poll: libvirt emits no snapshot events, so changes made with virsh are
                           // found here. Snapshot operations refresh the view themselves; a Domain
                           // reconciled in between does not list again.
                           : context_.views->refreshIfOlder(access, context_.settings.pollPeriod / 2);
    if (!refreshed) {
      const std::string& message = refreshed.error().message;
      return Converged{ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", message}, true,
                       message};
    }
    changed.insert(refreshed->changed.begin(), refreshed->changed.end());
    return std::nullopt;
  };
  bool defined = false;
  auto loadView = [&]() -> std::optional<Converged> {
    return access.view().loaded ? std::nullopt : refresh(true);
  };
  if (auto problem = define(domain, status, defined, access, loadView)) {
    return *problem;
  }
  if (auto problem = enforceRunState(domain, name, status)) {
    return *problem;
  }
  if (!access.view().loaded || defined) {
    if (auto problem = refresh(true)) {
      return *problem;
    }
  }
  bool recovered = false;
  if (auto problem = recoverTree(domain, access, recovered)) {
    return *problem;
  }
  if (auto problem = refresh(recovered)) {
    return *problem;
  }
  if (context_.observer) {
    context_.observer->polled(wallNow(context_.wallClock));
  }
  const std::string ns = domain.metadata.namespaceName.value_or("");
  for (const std::string& snapshotName : changed) {
    context_.queues->enqueueSnapshot(ns, snapshotName);
  }

  const std::string domainKey = kube::objectKey(ns, domain.metadata.name.value_or(""));
  const bool waiting = nextOperation(*context_.snapshots, *context_.reverts, domainKey).has_value();
  Converged converged{ReconcileOutcome{ReconcileState::Ready, "Reconciled",
                                       "the domain is defined and " + std::string(enumName(*status.state))}};
  treeFacts(domain, domainKey, waiting, access, status, converged);
  return converged;
}

void DomainReconciler::treeFacts(const Domain& domain, const std::string& domainKey, bool waiting,
                                 HypervisorViews::Access& access, DomainStatus& status,
                                 Converged& converged) {
  // Under the view's lock: a change the view sees after this is not in what the status gets now.
  converged.treeReadAt = treeStatus_.now();
  if (waiting) {
    // A create or revert waits: the tree changes again in a moment. The tree's fields (the whole
    // tree, rewritten each time) are not even computed then, unless the status has lagged as long as
    // allowed; each Snapshot's own status says where it is meanwhile. The last operation to finish
    // enqueues the Domain (and the poll comes anyway).
    const TreeStatusDebounce::Decision decision = treeStatus_.changing(domainKey);
    if (!decision.writeNow) {
      converged.treeDueIn = decision.dueIn;
      return;
    }
  }
  std::set<std::string> managed;  // from the keys: decoding every Snapshot of the domain per poll is not free
  for (const std::string& key : context_.snapshots->keysByIndex(kByDomainIndex, domainKey)) {
    if (auto request = kube::Request::fromKey(key)) {
      managed.insert(request->name);
    }
  }
  const auto policy = domain.spec.unmanagedSnapshots.value_or(crds::UnmanagedSnapshotPolicy::Report);
  DomainStatus fresh;  // the tree's fields only
  applyTreeFacts(fresh, access.view(), managed, policy != crds::UnmanagedSnapshotPolicy::Ignore);
  if (policy == crds::UnmanagedSnapshotPolicy::Adopt && fresh.unmanagedSnapshots) {
    adoptUnmanaged(domain, *fresh.unmanagedSnapshots);
  }
  if (sameTree(fresh, status)) {
    converged.treeCurrent = true;  // nothing to write (a resync, or a change undone meanwhile)
    return;
  }
  // Behind for as long as allowed while operations keep coming: written as the tree is now.
  const TreeStatusDebounce::Decision decision =
      waiting ? TreeStatusDebounce::Decision{true}
              : treeStatus_.settled(domainKey, treeFingerprint(fresh), viewChangedAt(access.view()));
  if (decision.writeNow) {
    copyTree(fresh, status);
    converged.treeCurrent = true;
    return;
  }
  converged.deferredTree = std::move(fresh);
  converged.treeDueIn = decision.dueIn;
}

std::optional<DomainReconciler::Converged> DomainReconciler::define(
    const Domain& domain, DomainStatus& status, bool& defined, HypervisorViews::Access& access,
    const std::function<std::optional<Converged>()>& loadView) {
  const std::string name = hypervisorName(domain);
  const drivers::Ownership owner = ownershipOf(domain);
  auto found = context_.driver->lookupDomain(name);
  const bool exists = found.has_value();
  if (!exists && found.error().kind != drivers::DriverErrorKind::NotFound) {
    return Converged{
        ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", found.error().message}, true,
        found.error().message};
  }
  if (exists) {
    const drivers::DomainInfo& info = found.value();
    if (!info.owner || info.owner->uid != owner.uid) {
      if (info.owner || !domain.spec.adoptExisting.value_or(false)) {
        const std::string holder = info.owner ? " (it belongs to " + info.owner->namespaceName + "/" +
                                                    info.owner->name + ", uid " + info.owner->uid + ")"
                                              : "";
        event(domain, kube::EventType::Warning, "ForeignDomain",
              "libvirt domain " + name + " exists and is not this Domain's" + holder +
                  "; it is left untouched");
        return Converged{
            stalled("ForeignDomain", "a libvirt domain named " + name +
                                         " already exists on this node and is not managed by this "
                                         "Domain" +
                                         holder +
                                         "; set spec.adoptExisting to take it over, or choose another "
                                         "spec.hypervisorName")};
      }
      if (auto failed = context_.driver->setOwner(name, owner)) {
        return Converged{stalled("AdoptFailed", failed->message), failed->retryable(), failed->message};
      }
      event(domain, kube::EventType::Normal, "Adopted", "took over the existing libvirt domain " + name);
    }
    status.hypervisor = crds::HypervisorRef{name, info.uuid, context_.capabilities.uri};
  }

  // A guest the host does not offer (an unknown spec.type or spec.os.arch) is refused here, not by
  // libvirt: before anything (a `create:` disk's volume) is made for a domain to define, and before a
  // redefinition. A domain libvirt already holds as the spec says is not judged again: the host's
  // offers can shrink for a while (libvirtd restarted while /dev/kvm is not there yet), and that must
  // not stop the snapshots of a domain that runs.
  const auto guestRefusal = [&]() -> std::optional<Converged> {
    auto offers = context_.driver->guestOffers();
    if (!offers) {
      const std::string& message = offers.error().message;
      return Converged{ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", message}, true,
                       message};
    }
    if (auto problem = guestProblem(domain.spec, offers.value())) {
      return Converged{stalled("InvalidSpec", "the spec is invalid: " + *problem)};
    }
    return std::nullopt;
  };
  if (!exists) {
    if (auto refused = guestRefusal()) {
      return refused;
    }
  }

  // Volumes for `create:` disks, found again when an earlier attempt made them.
  std::map<std::string, std::string> volumePaths;
  for (const auto& volume : volumesFor(domain, context_.settings.storagePool)) {
    if (context_.settings.storagePool.empty()) {
      return Converged{stalled("NoStoragePool", "disks with `create:` need the agent's --storage-pool")};
    }
    auto path = context_.driver->findVolume(volume.pool, volume.name);
    if (path && !path->has_value()) {
      auto created = context_.driver->createVolume(volume);
      if (!created) {
        return Converged{stalled("VolumeCreateFailed", created.error().message), created.error().retryable(),
                         created.error().message};
      }
      event(domain, kube::EventType::Normal, "VolumeCreated", "created volume " + created.value());
      path = std::optional<std::string>(created.value());
    }
    if (!path) {
      return Converged{stalled("VolumeLookupFailed", path.error().message), path.error().retryable(),
                       path.error().message};
    }
    const std::string disk = volume.name.substr(name.size() + 1, volume.name.rfind('.') - name.size() - 1);
    volumePaths[disk] = **path;
  }
  auto spec = translateDomain(domain, *context_.storageRoots, volumePaths);
  if (!spec) {
    return Converged{stalled("InvalidSpec", spec.error())};
  }
  if (!exists && status.hypervisor && status.hypervisor->uuid) {
    spec->uuid = status.hypervisor->uuid;  // defined again: snapshot redefines need the same UUID
  }
  if (exists) {
    // What libvirt holds now against the spec: a spec change and a change made behind our back
    // (`virsh edit`) both show here; when they agree nothing is defined.
    if (auto problem = loadView()) {
      return *problem;
    }
    auto live = context_.driver->definition(name);
    if (!live) {
      return Converged{
          ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", live.error().message}, true,
          live.error().message};
    }
    const std::set<std::string> overlaid = overlaidDisks(access.view());
    *spec = keepOverlays(std::move(*spec), *live, overlaid);
    spec->uuid = live->uuid;  // a definition without it would be a second domain of the same name
    const std::vector<std::string> drift = definitionDrift(*spec, *live, overlaid);
    if (drift.empty()) {
      return std::nullopt;
    }
    if (auto refused = guestRefusal()) {
      return refused;
    }
    const bool specChanged =
        !status.observedGeneration || *status.observedGeneration != domain.metadata.generation.value_or(0);
    if (!specChanged) {
      std::string differences;
      for (const std::string& difference : drift) {
        differences += (differences.empty() ? "" : "; ") + difference;
      }
      event(domain, kube::EventType::Warning, "DriftCorrected",
            "the definition of libvirt domain " + name + " was changed outside virtsnap (" + differences +
                "); putting the spec back");
    }
  }
  auto result = context_.driver->defineDomain(*spec);
  if (!result) {
    const auto& error = result.error();
    event(domain, kube::EventType::Warning, "DefineFailed", error.message);
    if (error.retryable()) {
      return Converged{ReconcileOutcome{ReconcileState::InProgress, "DefineFailed", error.message}, true,
                       error.message};
    }
    return Converged{stalled("DefineFailed", error.message)};
  }
  defined = true;
  status.hypervisor = crds::HypervisorRef{name, result->uuid, context_.capabilities.uri};
  if (exists) {
    event(domain, kube::EventType::Normal, "Redefined", "updated the definition of libvirt domain " + name);
    const bool active =
        result->state == drivers::DomainState::Running || result->state == drivers::DomainState::Paused;
    if (active) {
      setCondition(status.conditions,
                   ConditionUpdate{std::string(crds::kConditionRestartRequired), meta::ConditionStatus::True,
                                   "DefinitionChanged",
                                   "the new definition takes effect when the domain is next started",
                                   domain.metadata.generation.value_or(0)},
                   wallNow(context_.wallClock));
    }
  } else {
    event(domain, kube::EventType::Normal, "Defined",
          "defined libvirt domain " + name + " (uuid " + result->uuid + ")");
  }
  return std::nullopt;
}

std::optional<DomainReconciler::Converged> DomainReconciler::enforceRunState(const Domain& domain,
                                                                             const std::string& name,
                                                                             DomainStatus& status) {
  using D = drivers::DomainState;
  auto state = context_.driver->state(name);
  if (!state) {
    return Converged{
        ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", state.error().message}, true,
        state.error().message};
  }
  const auto wanted = domain.spec.runState.value_or(crds::RunState::Running);
  const bool off = *state == D::Shutoff || *state == D::Crashed || *state == D::NoState;
  std::optional<drivers::DriverError> failed;
  std::string action;
  if (wanted == crds::RunState::Running) {
    if (off) {
      action = "Started";
      failed = context_.driver->start(name);
    } else if (*state == D::Paused || *state == D::PMSuspended) {
      action = "Resumed";
      failed = context_.driver->resume(name);
    }
  } else if (wanted == crds::RunState::Paused) {
    if (off) {
      action = "Started";
      failed = context_.driver->start(name);
    }
    if (!failed && (off || *state == D::Running || *state == D::Blocked)) {
      action = "Paused";
      failed = context_.driver->suspend(name);
    }
  } else if (!off) {
    action = "Stopped";
    failed = context_.driver->shutdown(name, context_.settings.shutdownTimeout);
  }
  if (failed) {
    event(domain, kube::EventType::Warning, "RunStateFailed", failed->message);
    if (failed->retryable()) {
      return Converged{ReconcileOutcome{ReconcileState::InProgress, "RunStateFailed", failed->message}, true,
                       failed->message};
    }
    return Converged{stalled("RunStateFailed", failed->message)};
  }
  if (!action.empty()) {
    event(domain, kube::EventType::Normal, action, "libvirt domain " + name + ": " + action);
    // Some refused deletions wait on the run state, not on the tree (a merge after a memory snapshot
    // of a paused domain waits for it to run): a changed state retries every waiting deletion.
    const std::string ns = domain.metadata.namespaceName.value_or("");
    for (const auto& snapshot : context_.snapshots->byIndex(
             kByDomainIndex, kube::objectKey(ns, domain.metadata.name.value_or("")))) {
      if (auto it = snapshot->find("metadata");
          it != snapshot->end() && it->contains("deletionTimestamp") && it->contains("name")) {
        context_.queues->enqueueSnapshot(ns, (*it)["name"].get<std::string>());
      }
    }
    state = context_.driver->state(name);
    if (!state) {
      return Converged{
          ReconcileOutcome{ReconcileState::InProgress, "HypervisorUnavailable", state.error().message}, true,
          state.error().message};
    }
  }
  status.state = crdState(*state);
  if (*state == D::Shutoff) {
    removeCondition(status.conditions, crds::kConditionRestartRequired);  // it starts with the new definition
  }
  return std::nullopt;
}

std::optional<DomainReconciler::Converged> DomainReconciler::recoverTree(const Domain& domain,
                                                                         HypervisorViews::Access& access,
                                                                         bool& recovered) {
  if (!access.view().tree.empty()) {
    return std::nullopt;
  }
  const std::string ns = domain.metadata.namespaceName.value_or("");
  const std::string domainKey = ns + "/" + domain.metadata.name.value_or("");
  std::vector<drivers::SnapshotDefinition> definitions;
  std::optional<std::string> current;
  for (const auto& object : context_.snapshots->byIndex(kByDomainIndex, domainKey)) {
    auto snapshot = crds::decodeSnapshot(*object);
    if (!snapshot || !snapshot->status || !snapshot->status->definition ||
        snapshot->status->phase == crds::SnapshotPhase::Lost || snapshot->metadata.isBeingDeleted()) {
      continue;
    }
    drivers::SnapshotDefinition definition;
    definition.name = snapshot->metadata.name.value_or("");
    definition.parent = snapshot->status->parent;
    definition.xml = *snapshot->status->definition;
    definition.location = snapshot->status->location == crds::SnapshotLocation::External
                              ? drivers::SnapshotLocation::External
                              : drivers::SnapshotLocation::Internal;
    if (snapshot->status->current.value_or(false)) {
      current = definition.name;
    }
    definitions.push_back(std::move(definition));
  }
  if (definitions.empty()) {
    return std::nullopt;
  }
  // The same definitions that failed are not tried again at every reconcile (each try redefines
  // and removes again, and reports): only when a definition changes, or after a while (the host
  // may have changed: a disk file put back).
  std::string inputs = current.value_or("");
  for (const auto& definition : definitions) {
    inputs += '\0' + definition.name + '\0' + definition.parent.value_or("") + '\0' + definition.xml;
  }
  const std::size_t fingerprint = std::hash<std::string>{}(inputs);
  const auto now = wallNow(context_.wallClock);
  const auto failedStalled = [](const std::string& message) {
    return Converged{stalled("TreeRecoveryFailed",
                             "libvirt lost this domain's snapshot metadata and redefining it "
                             "failed; nothing was left half-restored: " +
                                 message)};
  };
  auto& failedBefore = access.view().failedRecovery;
  if (failedBefore && failedBefore->definitions == fingerprint &&
      now - failedBefore->at < kRecoveryRetryPolls * context_.settings.pollPeriod) {
    return failedStalled(failedBefore->message);
  }
  if (auto failed = context_.driver->redefineSnapshots(access.domain(), definitions, current)) {
    failedBefore = DomainView::FailedRecovery{fingerprint, failed->message, now};
    if (context_.observer) {
      context_.observer->metadataRecovery(false);
    }
    event(domain, kube::EventType::Warning, "TreeRecoveryFailed", failed->message);
    return failedStalled(failed->message);
  }
  failedBefore.reset();
  recovered = true;
  if (context_.observer) {
    context_.observer->metadataRecovery(true);
  }
  event(domain, kube::EventType::Normal, "TreeRecovered",
        "redefined " + std::to_string(definitions.size()) + " snapshots from their recorded definitions" +
            (current ? ", current " + *current : ""));
  return std::nullopt;
}

void DomainReconciler::adoptUnmanaged(const Domain& domain, const std::vector<std::string>& unmanaged) {
  kube::TypedClient<crds::Snapshot> snapshots(context_.client);
  for (const std::string& name : unmanaged) {
    if (!isSnapshotObjectName(name)) {
      event(domain, kube::EventType::Warning, "AdoptSkipped",
            "snapshot " + name + " cannot be adopted: its name is not a valid Kubernetes object name");
      continue;
    }
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = domain.metadata.namespaceName;
    snapshot.spec.domainName = domain.metadata.name.value_or("");
    snapshot.spec.description = "adopted from the hypervisor";
    // The Snapshot reconciler finds it on the hypervisor and adopts it rather than taking it again.
    auto created = snapshots.create(snapshot);
    if (created) {
      event(domain, kube::EventType::Normal, "SnapshotAdopted",
            "created Snapshot " + name + " for an unmanaged snapshot");
    } else if (created.error().kind != kube::ErrorKind::AlreadyExists) {
      event(domain, kube::EventType::Warning, "AdoptFailed",
            "creating Snapshot " + name + ": " + created.error().message);
    }
  }
}

ReconcileResult DomainReconciler::finalize(const Domain& domain) {
  if (!domain.metadata.hasFinalizer(crds::kDomainFinalizer)) {
    return ReconcileResult::done();
  }
  const std::string name = hypervisorName(domain);
  auto access = context_.views->access(name);
  auto found = context_.driver->lookupDomain(name);
  if (!found && found.error().kind != drivers::DriverErrorKind::NotFound) {
    return ReconcileResult::error(found.error().message);
  }
  const drivers::Ownership owner = ownershipOf(domain);
  if (found && found->owner && found->owner->uid == owner.uid) {
    const auto policy = domain.spec.deletionPolicy.value_or(crds::DomainDeletionPolicy::Delete);
    if (policy == crds::DomainDeletionPolicy::Retain) {
      if (auto failed = context_.driver->setOwner(name, std::nullopt)) {
        return ReconcileResult::error("releasing " + name + ": " + failed->message);
      }
      event(domain, kube::EventType::Normal, "Released",
            "left libvirt domain " + name + " on the host, unmanaged");
    } else {
      if (found->state != drivers::DomainState::Shutoff) {
        if (auto failed = context_.driver->destroy(name)) {
          return ReconcileResult::error("stopping " + name + ": " + failed->message);
        }
      }
      if (auto failed = context_.driver->undefine(name, drivers::UndefineOptions{})) {
        return ReconcileResult::error("undefining " + name + ": " + failed->message);
      }
      for (const auto& volume : volumesFor(domain, context_.settings.storagePool)) {
        auto path = context_.driver->findVolume(volume.pool, volume.name);
        if (path && path->has_value()) {
          if (auto failed = context_.driver->deleteVolume(**path)) {
            return ReconcileResult::error("deleting volume " + **path + ": " + failed->message);
          }
        }
      }
      event(domain, kube::EventType::Normal, "Undefined", "destroyed and undefined libvirt domain " + name);
    }
  }
  context_.views->forget(access);
  treeStatus_.forget(
      kube::objectKey(domain.metadata.namespaceName.value_or(""), domain.metadata.name.value_or("")));
  auto released = setFinalizer(client_, writes_, domain, crds::kDomainFinalizer, false);
  if (!released) {
    return ReconcileResult::error("removing the finalizer: " + released.error().message);
  }
  return ReconcileResult::done();
}

}  // namespace virtsnap::reconcilers
