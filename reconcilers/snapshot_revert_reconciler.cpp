#include "reconcilers/snapshot_revert_reconciler.h"

#include "crds/meta/time.h"
#include "reconcilers/domain_translation.h"
#include "reconcilers/object_writes.h"
#include "reconcilers/operation_order.h"
#include "reconcilers/owned_domain.h"

namespace virtsnap::reconcilers {
namespace {

using crds::RevertPhase;
using crds::SnapshotRevert;
using crds::SnapshotRevertStatus;
using kube::ReconcileResult;

}  // namespace

void SnapshotRevertReconciler::event(const SnapshotRevert& revert, kube::EventType type,
                                     const std::string& reason, const std::string& message) {
  if (context_.events) {
    context_.events->event(referenceTo(revert), type, reason, message);
  }
}

ReconcileResult SnapshotRevertReconciler::finish(const SnapshotRevert& revert, SnapshotRevertStatus status,
                                                 const ReconcileOutcome& outcome) {
  const std::int64_t generation = revert.metadata.generation.value_or(0);
  applyReconcileOutcome(status.conditions, outcome, generation, wallNow(context_.wallClock));
  status.observedGeneration = generation;
  auto written = writeStatus(client_, writes_, revert, status);
  if (!written) {
    return ReconcileResult::error("writing the status: " + written.error().message);
  }
  return ReconcileResult::done();
}

ReconcileResult SnapshotRevertReconciler::reconcile(const kube::Request& request) {
  kube::ObjectPtr cached = context_.reverts->get(request.key());
  if (behindOwnWrite(writes_, request.key(), cached)) {
    return ReconcileResult::done();  // the watch event of that write brings the object again
  }
  if (!cached) {
    return ReconcileResult::done();
  }
  auto decoded = crds::decodeSnapshotRevert(*cached);
  if (!decoded) {
    return ReconcileResult::terminalError("SnapshotRevert " + request.key() + " does not decode: " +
                                          decoded.error().path + ": " + decoded.error().message);
  }
  SnapshotRevert revert = std::move(decoded).value();
  SnapshotRevertStatus status = revert.status.value_or(SnapshotRevertStatus{});
  if (status.phase == RevertPhase::Succeeded || status.phase == RevertPhase::Failed) {
    return ReconcileResult::done();  // executed once; a record now
  }
  const std::string ns = revert.metadata.namespaceName.value_or("");
  const std::string name = revert.metadata.name.value_or("");
  OwnedDomain owned = ownedDomain(context_, ns, revert.spec.domainName, false);
  if (owned.lookup != DomainLookup::Owned) {
    return ReconcileResult::done();
  }
  const crds::Domain& domain = *owned.domain;
  if (!domain.status || !domain.status->hypervisor) {
    return ReconcileResult::done();  // the Domain enqueues its next operation once it is defined
  }
  const std::string domainKey = kube::objectKey(ns, revert.spec.domainName);
  auto next = nextOperation(*context_.snapshots, *context_.reverts, domainKey);
  if (!next || next->kind != PendingOperation::Kind::Revert || next->name != name) {
    return ReconcileResult::done();  // not its turn; the operation before it enqueues it
  }
  const std::string domainName = hypervisorName(domain);
  const std::string& target = revert.spec.snapshotName;
  auto access = context_.views->access(domainName);
  auto refreshed = context_.views->refresh(access);
  if (!refreshed) {
    return ReconcileResult::error(refreshed.error().message);
  }
  for (const std::string& changed : refreshed->changed) {  // moved outside virtsnap, or after a failed update
    context_.queues->enqueueSnapshot(ns, changed);
  }
  const auto now = wallNow(context_.wallClock);
  if (!access.view().tree.contains(target)) {
    status.phase = RevertPhase::Failed;
    status.completionTime = meta::formatTime(now);
    const std::string message = "domain " + revert.spec.domainName + " has no snapshot " + target;
    event(revert, kube::EventType::Warning, "SnapshotNotFound", message);
    context_.queues->enqueueDomain(ns, revert.spec.domainName);  // the next operation may run
    return finish(revert, std::move(status),
                  ReconcileOutcome{ReconcileState::Stalled, "SnapshotNotFound", message});
  }

  // Started before an agent restart, and the target is libvirt's current snapshot now: the revert
  // was made if the mark written before it is gone (a revert replaces the domain's definition, mark
  // and all). Only the mark tells this for a revert to the snapshot that was current already.
  const std::string uid = revert.metadata.uid.value_or("");
  bool doneBeforeRestart = false;
  if (status.phase == RevertPhase::Running && access.view().tree.current() == target) {
    auto mark = context_.driver->revertMark(domainName);
    if (!mark) {
      return ReconcileResult::error("reading the revert mark of " + domainName + ": " + mark.error().message);
    }
    doneBeforeRestart = mark.value() != uid;
  }
  if (!doneBeforeRestart) {
    if (status.phase != RevertPhase::Running) {
      // The mark first: Running in status with no mark in the domain would read as done.
      if (auto failed = context_.driver->setRevertMark(domainName, uid)) {
        return ReconcileResult::error("marking " + domainName + " for the revert: " + failed->message);
      }
      status.phase = RevertPhase::Running;
      status.startTime = meta::formatTime(now);
      status.previousSnapshot = access.view().tree.current();
      const std::int64_t generation = revert.metadata.generation.value_or(0);
      applyReconcileOutcome(
          status.conditions,
          ReconcileOutcome{ReconcileState::InProgress, "Reverting", "reverting to " + target}, generation,
          now);
      status.observedGeneration = generation;
      auto written = writeStatus(client_, writes_, revert, status);
      if (!written) {
        return ReconcileResult::error("writing the status: " + written.error().message);
      }
      revert = std::move(written).value();
    }
    drivers::RevertOptions options;
    const auto runState = domain.spec.runState.value_or(crds::RunState::Running);
    options.mode = runState == crds::RunState::Running  ? drivers::RevertMode::Running
                   : runState == crds::RunState::Paused ? drivers::RevertMode::Paused
                                                        : drivers::RevertMode::Default;
    options.force = revert.spec.force.value_or(false);
    if (auto failed = context_.driver->revertToSnapshot(domainName, target, options)) {
      if (failed->retryable()) {
        return ReconcileResult::error("reverting to " + target + ": " + failed->message);
      }
      // Not made and never retried: the mark must not outlive it (a snapshot taken later would carry it).
      if (auto unmarked = context_.driver->setRevertMark(domainName, std::nullopt)) {
        return ReconcileResult::error("removing the revert mark of " + domainName + ": " + unmarked->message);
      }
      status.phase = RevertPhase::Failed;
      status.completionTime = meta::formatTime(wallNow(context_.wallClock));
      event(revert, kube::EventType::Warning, "RevertFailed", failed->message);
      context_.queues->enqueueDomain(ns, revert.spec.domainName);
      return finish(revert, std::move(status),
                    ReconcileOutcome{
                        ReconcileState::Stalled, "RevertFailed",
                        "this host cannot revert " + domainName + " to " + target + ": " + failed->message});
    }
    event(revert, kube::EventType::Normal, "Reverted", "reverted " + domainName + " to snapshot " + target);
  }
  auto after = context_.views->refresh(access);
  if (after) {
    for (const std::string& changed : after->changed) {
      context_.queues->enqueueSnapshot(ns, changed);
    }
  }
  context_.queues->enqueueDomain(ns, revert.spec.domainName);  // runState enforced again, tree in status
  status = revert.status.value_or(status);
  status.phase = RevertPhase::Succeeded;
  status.completionTime = meta::formatTime(wallNow(context_.wallClock));
  return finish(revert, std::move(status),
                ReconcileOutcome{ReconcileState::Ready, "Succeeded", "reverted to " + target});
}

}  // namespace virtsnap::reconcilers
