#pragma once
// Reconciles a Snapshot (docs/design.md, Snapshot): the finalizer; the snapshot taken when it is its
// domain's next operation in (creationTimestamp, name) order, or adopted when libvirt already has one
// of that name (the agent may have died between the libvirt call and the status write), never taken
// twice; status from the domain's hypervisor view (parent, children, current, depth, deletability,
// the definition kept for recovery); Lost when it vanished behind the agent's back; deletion per
// deletionPolicy, with refusals (predicted by the tree model or libvirt's own) as DeletionBlocked,
// an Event, the finalizer kept and a retry when the tree changes.

#include "controller/kube/reconciler.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "reconcilers/agent_context.h"
#include "reconcilers/conditions.h"
#include "reconcilers/own_writes.h"

namespace virtsnap::reconcilers {

class SnapshotReconciler final : public kube::Reconciler {
 public:
  explicit SnapshotReconciler(AgentContext& context) : context_(context), client_(context.client) {}

  kube::ReconcileResult reconcile(const kube::Request& request) override;

 private:
  kube::ReconcileResult finalize(const crds::Snapshot& snapshot, const std::string& domainName);
  kube::ReconcileResult take(crds::Snapshot snapshot, const std::string& domainName,
                             HypervisorViews::Access& access);
  // Writes the status with `outcome`'s conditions; the result of the reconcile.
  kube::ReconcileResult finish(const crds::Snapshot& snapshot, crds::SnapshotStatus status,
                               const ReconcileOutcome& outcome, kube::ReconcileResult result);
  // libvirt's XML of `name`, for the status when the view's digest says the recorded one is not it
  // (the view keeps no XML; it takes the digest of this one: HypervisorViews::describe). A snapshot
  // libvirt no longer has refreshes the view: the references a caller holds into it are not to be
  // used after an error.
  Expected<std::string, drivers::DriverError> libvirtsDefinition(const std::string& ns,
                                                                 const std::string& name,
                                                                 HypervisorViews::Access& access);
  void enqueueChanged(const std::string& ns, const std::set<std::string>& changed, const std::string& self);
  // Whether `snapshot` is its domain's next operation (creation order, reverts included).
  bool itsTurn(const crds::Snapshot& snapshot) const;
  void event(const crds::Snapshot& snapshot, kube::EventType type, const std::string& reason,
             const std::string& message);

  AgentContext& context_;
  kube::TypedClient<crds::Snapshot> client_;
  OwnWrites writes_;  // what this reconciler wrote, so a cache behind it is not acted on
};

}  // namespace virtsnap::reconcilers
