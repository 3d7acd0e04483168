#include "reconcilers/snapshot_reconciler.h"

#include <filesystem>

#include "reconcilers/domain_translation.h"
#include "reconcilers/object_writes.h"
#include "reconcilers/operation_order.h"
#include "reconcilers/owned_domain.h"
#include "reconcilers/spec_problems.h"
#include "reconcilers/status_from_view.h"

namespace virtsnap::reconcilers {
namespace {

using crds::Snapshot;
using crds::SnapshotPhase;
using crds::SnapshotStatus;
using kube::ReconcileResult;

drivers::DeleteOptions deleteOptionsFor(crds::SnapshotDeletionPolicy policy) {
  drivers::DeleteOptions options;
  options.metadataOnly = policy == crds::SnapshotDeletionPolicy::MetadataOnly;
  return options;
}

// A hypervisor refusal as the condition reason it is reported under.
std::string refusalReason(const drivers::DriverError& error) {
  switch (error.kind) {
    case drivers::DriverErrorKind::Unsupported:
      return "Unsupported";
    case drivers::DriverErrorKind::Refused:
      return "Refused";
    case drivers::DriverErrorKind::Invalid:
      return "InvalidRequest";
    case drivers::DriverErrorKind::NotFound:
      return "DomainNotFound";
    default:
      return "HypervisorError";
  }
}

// What is wrong with the spec, before anything reaches libvirt.
std::vector<meta::DecodeError> specProblems(const Snapshot& snapshot) {
  auto problems = crds::validateSnapshotSpec(snapshot.spec);
  // The description becomes the libvirt snapshot's <description>: line breaks and tabs are text, other
  // control characters XML cannot carry.
  if (auto problem = textProblem("spec.description", snapshot.spec.description.value_or(""), true)) {
    problems.push_back({"", *problem});
  }
  return problems;
}

}  // namespace

bool SnapshotReconciler::itsTurn(const Snapshot& snapshot) const {
  const std::string domainKey =
      kube::objectKey(snapshot.metadata.namespaceName.value_or(""), snapshot.spec.domainName);
  auto next = nextOperation(*context_.snapshots, *context_.reverts, domainKey);
  return next && next->kind == PendingOperation::Kind::Snapshot && next->name == snapshot.metadata.name;
}

void SnapshotReconciler::event(const Snapshot& snapshot, kube::EventType type, const std::string& reason,
                               const std::string& message) {
  if (context_.events) {
    context_.events->event(referenceTo(snapshot), type, reason, message);
  }
}

void SnapshotReconciler::enqueueChanged(const std::string& ns, const std::set<std::string>& changed,
                                        const std::string& self) {
  for (const std::string& name : changed) {
    if (name != self) {
      context_.queues->enqueueSnapshot(ns, name);
    }
  }
}

ReconcileResult SnapshotReconciler::finish(const Snapshot& snapshot, SnapshotStatus status,
                                           const ReconcileOutcome& outcome, ReconcileResult result) {
  const std::int64_t generation = snapshot.metadata.generation.value_or(0);
  applyReconcileOutcome(status.conditions, outcome, generation, wallNow(context_.wallClock));
  status.observedGeneration = generation;
  status.nodeName = context_.settings.nodeName;
  auto written = writeStatus(client_, writes_, snapshot, status);
  if (!written) {
    return ReconcileResult::error("writing the status: " + written.error().message);
  }
  return result;
}

ReconcileResult SnapshotReconciler::reconcile(const kube::Request& request) {
  kube::ObjectPtr cached = context_.snapshots->get(request.key());
  if (behindOwnWrite(writes_, request.key(), cached)) {
    return ReconcileResult::done();  // the watch event of that write brings the object again
  }
  if (!cached) {
    return ReconcileResult::done();
  }
  auto decoded = crds::decodeSnapshot(*cached);
  if (!decoded) {
    return ReconcileResult::terminalError("Snapshot " + request.key() + " does not decode: " +
                                          decoded.error().path + ": " + decoded.error().message);
  }
  Snapshot snapshot = std::move(decoded).value();
  const std::string ns = snapshot.metadata.namespaceName.value_or("");
  const bool deleting = snapshot.metadata.isBeingDeleted();
  OwnedDomain owned = ownedDomain(context_, ns, snapshot.spec.domainName,
                                  deleting && snapshot.metadata.hasFinalizer(crds::kSnapshotFinalizer));
  if (owned.lookup == DomainLookup::Gone && deleting) {
    // The Domain is gone (its deletion policy already dealt with the hypervisor): nothing holds this one.
    auto released = setFinalizer(client_, writes_, snapshot, crds::kSnapshotFinalizer, false);
    return released ? ReconcileResult::done() : ReconcileResult::error(released.error().message);
  }
  if (owned.lookup == DomainLookup::Unknown) {
    return ReconcileResult::requeueAfter(std::chrono::seconds(2));
  }
  if (owned.lookup != DomainLookup::Owned) {
    return ReconcileResult::done();  // not this node's; when its Domain arrives, the Domain enqueues it
  }
  const crds::Domain& domain = *owned.domain;
  if (!domain.status || !domain.status->hypervisor) {
    return ReconcileResult::done();  // the Domain is not defined yet; it enqueues its next operation
  }
  const std::string domainName = hypervisorName(domain);
  if (deleting) {
    return finalize(snapshot, domainName);
  }
  if (!snapshot.metadata.hasFinalizer(crds::kSnapshotFinalizer)) {
    auto updated = setFinalizer(client_, writes_, snapshot, crds::kSnapshotFinalizer, true);
    if (!updated) {
      return ReconcileResult::error("adding the finalizer: " + updated.error().message);
    }
    snapshot = std::move(updated).value();
  }

  // A valid Snapshot that waits for its turn leaves the domain's view alone: the operation before it
  // enqueues it when it finishes. (In a burst every waiting Snapshot waited there for the running
  // create, holding a worker.) Libvirt may hold its name already: it is adopted in its turn.
  if (reconcilers::snapshotPending(*cached) && !itsTurn(snapshot) && specProblems(snapshot).empty()) {
    return ReconcileResult::done();
  }
  const std::string name = snapshot.metadata.name.value_or("");
  auto access = context_.views->access(domainName);
  if (!access.view().loaded) {
    auto refreshed = context_.views->refresh(access);
    if (!refreshed) {
      return ReconcileResult::error(refreshed.error().message);
    }
    // An unloaded view may hold positions from before an own operation whose update failed.
    enqueueChanged(ns, refreshed->changed, name);
  }
  SnapshotStatus status = snapshot.status.value_or(SnapshotStatus{});
  const DomainView& view = access.view();
  if (auto position = view.positions.find(name); position != view.positions.end()) {
    const bool wasReady = status.phase == SnapshotPhase::Ready;
    const ViewedDefinition& definition = view.definitions.at(name);
    if (!status.definition || definitionDigest(*status.definition) != definition.xmlDigest) {
      auto recorded = libvirtsDefinition(ns, name, access);
      if (!recorded) {
        // `definition` and `position` may be gone (a refresh)
        return ReconcileResult::error("reading the definition of snapshot " + name + ": " +
                                      recorded.error().message);
      }
      status.definition = std::move(recorded).value();
    }
    status.phase = SnapshotPhase::Ready;
    applyTreeFacts(status, position->second, definition,
                   snapshot.spec.deletionPolicy.value_or(crds::SnapshotDeletionPolicy::Delete));
    removeCondition(status.conditions, crds::kConditionDeletionBlocked);
    if (!wasReady) {
      event(snapshot, kube::EventType::Normal, "Adopted",
            "libvirt already has snapshot " + name + " of " + domainName + "; it is now this object's");
    }
    return finish(snapshot, std::move(status),
                  ReconcileOutcome{ReconcileState::Ready, "Ready", "the snapshot exists on the hypervisor"},
                  ReconcileResult::done());
  }
  if (status.phase == SnapshotPhase::Lost || status.phase == SnapshotPhase::Failed) {
    return ReconcileResult::done();  // a record now: never taken (again) silently
  }
  if (status.definition) {
    if (view.tree.empty()) {
      // libvirt lost the whole tree: the Domain redefines it from the recorded definitions.
      context_.queues->enqueueDomain(ns, snapshot.spec.domainName);
      return ReconcileResult::done();
    }
    status.phase = SnapshotPhase::Lost;
    status.current = false;
    event(
        snapshot, kube::EventType::Warning, "SnapshotLost",
        "snapshot " + name + " was deleted from " + domainName + " outside virtsnap; it is not taken again");
    return finish(snapshot, std::move(status),
                  ReconcileOutcome{ReconcileState::Stalled, "SnapshotLost",
                                   "the snapshot was deleted on the hypervisor outside virtsnap; delete this "
                                   "object, or create a new Snapshot"},
                  ReconcileResult::done());
  }
  return take(std::move(snapshot), domainName, access);
}

Expected<std::string, drivers::DriverError> SnapshotReconciler::libvirtsDefinition(
    const std::string& ns, const std::string& name, HypervisorViews::Access& access) {
  auto fetched = context_.views->describe(access, name);
  if (fetched) {
    return std::move(fetched->xml);
  }
  if (fetched.error().kind == drivers::DriverErrorKind::NotFound) {
    // Deleted outside virtsnap since the view's last look: the retry sees it gone.
    if (auto refreshed = context_.views->refresh(access)) {
      enqueueChanged(ns, refreshed->changed, name);
    }
  }
  return fetched.error();
}

ReconcileResult SnapshotReconciler::take(Snapshot snapshot, const std::string& domainName,
                                         HypervisorViews::Access& access) {
  const std::string ns = snapshot.metadata.namespaceName.value_or("");
  const std::string name = snapshot.metadata.name.value_or("");
  SnapshotStatus status = snapshot.status.value_or(SnapshotStatus{});
  const auto problems = specProblems(snapshot);
  if (!problems.empty()) {
    status.phase = SnapshotPhase::Failed;
    event(snapshot, kube::EventType::Warning, "InvalidSpec", describeProblems(problems));
    return finish(snapshot, std::move(status),
                  ReconcileOutcome{ReconcileState::Stalled, "InvalidSpec",
                                   "the spec is invalid: " + describeProblems(problems)},
                  ReconcileResult::done());
  }
  if (!itsTurn(snapshot)) {
    // Not its turn: the operation before it enqueues it when it finishes. (No "Pending" write: the
    // absent phase says it, and it keeps a create within four API writes.)
    return ReconcileResult::done();
  }

  drivers::SnapshotRequest request;
  request.name = name;
  request.description = snapshot.spec.description.value_or("");
  const bool external = snapshot.spec.location == crds::SnapshotLocation::External;
  request.location = external ? drivers::SnapshotLocation::External : drivers::SnapshotLocation::Internal;
  request.memory = external ? snapshot.spec.memory.value_or(true) : true;
  request.quiesce = snapshot.spec.quiesce.value_or(false);
  if (external && request.memory && !context_.storageRoots->roots().empty()) {
    request.memoryFile =
        (context_.storageRoots->roots().front() / (domainName + "." + name + ".mem")).string();
  }
  auto created = context_.driver->createSnapshot(domainName, request);
  if (!created) {
    const drivers::DriverError& error = created.error();
    if (error.retryable()) {
      return ReconcileResult::error("taking snapshot " + name + ": " + error.message);
    }
    status.phase = SnapshotPhase::Failed;
    event(snapshot, kube::EventType::Warning, "SnapshotFailed", error.message);
    // The next operation of the domain may run now.
    context_.queues->enqueueDomain(ns, snapshot.spec.domainName);
    return finish(snapshot, std::move(status),
                  ReconcileOutcome{ReconcileState::Stalled, refusalReason(error), error.message},
                  ReconcileResult::done());
  }
  status.definition = created->xml;  // the view keeps its digest only
  const std::optional<std::string> parent = created->parent;
  auto refreshed = context_.views->applyCreated(access, std::move(created).value());
  if (!refreshed) {
    return ReconcileResult::error("listing the snapshots of " + domainName + ": " +
                                  refreshed.error().message);
  }
  // Not the Domain: the Ready status written below enqueues it (the agent's Snapshot handler, a quiet
  // time later when no operation follows), once. Enqueued here too, it reconciled twice per create,
  // its libvirt calls meeting the next create.
  enqueueChanged(ns, refreshed->changed, name);
  event(snapshot, kube::EventType::Normal, "Created",
        "took snapshot " + name + " of " + domainName + (parent ? " (parent " + *parent + ")" : " (a root)"));
  const DomainView& view = access.view();
  auto position = view.positions.find(name);
  if (position == view.positions.end()) {
    return ReconcileResult::error("snapshot " + name + " was taken but is not in libvirt's listing");
  }
  status.phase = SnapshotPhase::Ready;
  applyTreeFacts(status, position->second, view.definitions.at(name),
                 snapshot.spec.deletionPolicy.value_or(crds::SnapshotDeletionPolicy::Delete));
  return finish(snapshot, std::move(status),
                ReconcileOutcome{ReconcileState::Ready, "Ready", "the snapshot exists on the hypervisor"},
                ReconcileResult::done());
}

ReconcileResult SnapshotReconciler::finalize(const Snapshot& snapshot, const std::string& domainName) {
  if (!snapshot.metadata.hasFinalizer(crds::kSnapshotFinalizer)) {
    return ReconcileResult::done();
  }
  const std::string ns = snapshot.metadata.namespaceName.value_or("");
  const std::string name = snapshot.metadata.name.value_or("");
  const auto policy = snapshot.spec.deletionPolicy.value_or(crds::SnapshotDeletionPolicy::Delete);
  auto access = context_.views->access(domainName);
  if (!access.view().loaded) {
    auto refreshed = context_.views->refresh(access);
    if (!refreshed && refreshed.error().kind != drivers::DriverErrorKind::NotFound) {
      return ReconcileResult::error(refreshed.error().message);
    }
    if (refreshed) {
      enqueueChanged(ns, refreshed->changed, name);
    }
  }
  const bool onHypervisor = access.view().positions.contains(name);
  bool deletedHere = false;  // libvirt deleted it now (not: retained, or found gone already)
  if (onHypervisor && policy != crds::SnapshotDeletionPolicy::Retain) {
    const drivers::DeleteOptions options = deleteOptionsFor(policy);
    std::optional<drivers::DeletionBlock> block = access.view().tree.checkDeletion(name, options);
    std::optional<drivers::DriverError> failed;
    if (!block) {
      failed = context_.driver->deleteSnapshot(domainName, name, options);
      if (failed && failed->block) {
        block = failed->block;
      }
    }
    if (block) {
      SnapshotStatus status = snapshot.status.value_or(SnapshotStatus{});
      const std::string reason(drivers::toString(block->reason));
      const bool news = !isConditionTrue(status.conditions, crds::kConditionDeletionBlocked) ||
                        status.deletionBlockedReason != reason;
      setCondition(status.conditions,
                   ConditionUpdate{std::string(crds::kConditionDeletionBlocked), meta::ConditionStatus::True,
                                   reason, block->message, snapshot.metadata.generation.value_or(0)},
                   wallNow(context_.wallClock));
      status.deletable = false;
      status.deletionBlockedReason = reason;
      if (news) {
        event(snapshot, kube::EventType::Warning, "DeletionBlocked", block->message);
      }
      // Retried when the tree changes (the view enqueues every snapshot whose position changed).
      return finish(snapshot, std::move(status),
                    ReconcileOutcome{ReconcileState::Stalled, "DeletionBlocked", block->message},
                    ReconcileResult::done());
    }
    if (failed && failed->kind != drivers::DriverErrorKind::NotFound) {
      event(snapshot, kube::EventType::Warning, "DeleteFailed", failed->message);
      if (failed->retryable()) {
        return ReconcileResult::error(failed->message);
      }
      SnapshotStatus status = snapshot.status.value_or(SnapshotStatus{});
      status.phase = SnapshotPhase::Deleting;
      return finish(snapshot, std::move(status),
                    ReconcileOutcome{ReconcileState::Stalled, refusalReason(*failed), failed->message},
                    ReconcileResult::done());
    }
    deletedHere = !failed;
    event(
        snapshot, kube::EventType::Normal, "Deleted",
        "deleted snapshot " + name + " of " + domainName + (options.metadataOnly ? " (metadata only)" : ""));
  } else if (onHypervisor) {
    event(snapshot, kube::EventType::Normal, "Retained",
          "left snapshot " + name + " on " + domainName + "; it is reported as unmanaged from now on");
  }
  if (access.view().loaded) {
    // A deletion libvirt just made is applied to the view; otherwise (retained, or gone already) it lists.
    auto refreshed = deletedHere ? context_.views->applyDeleted(access, name, deleteOptionsFor(policy))
                                 : context_.views->refresh(access);
    if (refreshed) {
      enqueueChanged(ns, refreshed->changed, name);
    }
  }
  // The Domain is enqueued when the object goes (the agent's Snapshot handler), not here as well.
  auto released = setFinalizer(client_, writes_, snapshot, crds::kSnapshotFinalizer, false);
  if (!released) {
    return ReconcileResult::error("removing the finalizer: " + released.error().message);
  }
  return ReconcileResult::done();
}

}  // namespace virtsnap::reconcilers
