#pragma once
// Reconciles a Domain (docs/design.md, Domain): the finalizer; the libvirt definition made from the
// spec (volumes for `create:` disks, paths confined to the allowed roots, the ownership element);
// a foreign domain of the same name Stalled and never touched, unless adoptExisting; runState
// enforced; the tree redefined from the Snapshots' recorded definitions when libvirt lost it;
// deletionPolicy on deletion; status (state, hypervisor, the tree, unmanaged snapshots, conditions)
// written only when it changed, the tree's fields once the tree settles (tree_status_debounce.h; a
// status written for another reason carries the tree at once). Requeues itself every poll period:
// libvirt has no snapshot events.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/kube/reconciler.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "reconcilers/agent_context.h"
#include "reconcilers/conditions.h"
#include "reconcilers/own_writes.h"
#include "reconcilers/tree_status_debounce.h"

namespace virtsnap::reconcilers {

class DomainReconciler final : public kube::Reconciler {
 public:
  explicit DomainReconciler(AgentContext& context)
      : context_(context),
        client_(context.client),
        treeStatus_(context.clock,
                    TreeStatusTiming{context.settings.treeStatusDelay, context.settings.treeStatusMaxDelay}) {
  }

  kube::ReconcileResult reconcile(const kube::Request& request) override;

 private:
  struct Converged {
    Converged(ReconcileOutcome result, bool retryLater = false, std::string why = {})
        : outcome(std::move(result)), retry(retryLater), retryMessage(std::move(why)) {}
    ReconcileOutcome outcome;
    bool retry = false;  // a transient failure: retried with backoff after the status is written
    std::string retryMessage;
    bool treeCurrent = false;  // the status holds libvirt's tree (as it was, or applied now)
    std::optional<virtsnap::Clock::TimePoint> treeReadAt;  // when that tree was read from the view
    // libvirt's tree while its write is deferred (only the tree's fields are set), and when it is due.
    std::optional<crds::DomainStatus> deferredTree;
    std::optional<std::chrono::nanoseconds> treeDueIn;
  };

  kube::ReconcileResult finalize(const crds::Domain& domain);
  // A Domain of this node whose spec does not decode (a value the schema lets through that the agent
  // cannot hold: a negative or overflowing quantity) is Stalled with the field named; other nodes'
  // are left alone.
  kube::ReconcileResult refuseUndecodable(const kube::Request& request, const nlohmann::json& object,
                                          const std::string& problem);
  Converged converge(const crds::Domain& domain, crds::DomainStatus& status);
  // Defines the domain when libvirt has none of its name; empty on success, else the problem.
  // Defines the domain when it is missing, the spec changed or its definition drifted; `loadView`
  // loads the domain's view first when it was never listed (its external snapshots decide which disk
  // paths are libvirt's to change).
  std::optional<Converged> define(const crds::Domain& domain, crds::DomainStatus& status, bool& defined,
                                  HypervisorViews::Access& access,
                                  const std::function<std::optional<Converged>()>& loadView);
  std::optional<Converged> enforceRunState(const crds::Domain& domain, const std::string& name,
                                           crds::DomainStatus& status);
  // Unmanaged snapshots under unmanagedSnapshots: Adopt get Snapshot objects (named as on the hypervisor).
  void adoptUnmanaged(const crds::Domain& domain, const std::vector<std::string>& unmanaged);
  // The tree's fields of the status: set from the view now, left as they are while the write is
  // deferred (then carried in `converged`), and the domain's next look scheduled.
  void treeFacts(const crds::Domain& domain, const std::string& domainKey, bool waiting,
                 HypervisorViews::Access& access, crds::DomainStatus& status, Converged& converged);
  // Sets `recovered` when it redefined the tree.
  std::optional<Converged> recoverTree(const crds::Domain& domain, HypervisorViews::Access& access,
                                       bool& recovered);
  void event(const crds::Domain& domain, kube::EventType type, const std::string& reason,
             const std::string& message);

  AgentContext& context_;
  kube::TypedClient<crds::Domain> client_;
  OwnWrites writes_;  // what this reconciler wrote, so a cache behind it is not acted on
  TreeStatusDebounce treeStatus_;
};

}  // namespace virtsnap::reconcilers
