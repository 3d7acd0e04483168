#pragma once
// What the reconcilers report beyond the objects' status, for the agent's metrics: a metadata recovery
// tried (the snapshot tree redefined from the recorded definitions) and a successful poll of a
// domain's snapshot tree. Called from the reconcilers' worker threads; implementations are thread-safe.
// The agent implements it with Prometheus metrics (controller/agent/reconcile_observer_metrics.h).

#include <chrono>

namespace virtsnap::reconcilers {

class AgentObserver {
 public:
  virtual ~AgentObserver() = default;
  // libvirt had lost a domain's snapshot metadata and its redefinition was tried.
  virtual void metadataRecovery(bool succeeded) = 0;
  // A domain's snapshot tree was read from the hypervisor (or found fresh) at `when`.
  virtual void polled(std::chrono::system_clock::time_point when) = 0;
};

}  // namespace virtsnap::reconcilers
