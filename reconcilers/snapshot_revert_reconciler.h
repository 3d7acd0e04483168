#pragma once
// Reconciles a SnapshotRevert (docs/design.md, SnapshotRevert): a one-shot request, executed exactly
// once when it is its domain's next operation in (creationTimestamp, name) order: Running is written
// (with the previous current snapshot) before libvirt is asked, so an agent that dies mid-revert
// finds it and, if libvirt's current snapshot is already the target, records the revert as done
// instead of reverting twice. RUNNING or PAUSED follow the Domain's runState; FORCE when asked; the
// driver keeps reverts of one domain at least a second apart. Afterwards the object is a record.

#include "controller/kube/reconciler.h"
#include "controller/kube/typed_client.h"
#include "crds/snapshot_revert.h"
#include "reconcilers/agent_context.h"
#include "reconcilers/conditions.h"
#include "reconcilers/own_writes.h"

namespace virtsnap::reconcilers {

class SnapshotRevertReconciler final : public kube::Reconciler {
 public:
  explicit SnapshotRevertReconciler(AgentContext& context) : context_(context), client_(context.client) {}

  kube::ReconcileResult reconcile(const kube::Request& request) override;

 private:
  kube::ReconcileResult finish(const crds::SnapshotRevert& revert, crds::SnapshotRevertStatus status,
                               const ReconcileOutcome& outcome);
  void event(const crds::SnapshotRevert& revert, kube::EventType type, const std::string& reason,
             const std::string& message);

  AgentContext& context_;
  kube::TypedClient<crds::SnapshotRevert> client_;
  OwnWrites writes_;  // what this reconciler wrote, so a cache behind it is not acted on
};

}  // namespace virtsnap::reconcilers
