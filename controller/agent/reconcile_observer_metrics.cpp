#include "controller/agent/reconcile_observer_metrics.h"

namespace virtsnap::agent {
namespace {

prometheus::Family<prometheus::Counter>& recoveries(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("virtsnap_metadata_recoveries_total")
      .Help(
          "Snapshot trees libvirt had lost, redefined from the definitions recorded in the Snapshots' "
          "status, by "
          "result.")
      .Register(registry);
}

}  // namespace

ReconcileObserverMetrics::ReconcileObserverMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      recoveriesSucceeded_(recoveries(*registry_).Add({{"result", "succeeded"}})),
      recoveriesFailed_(recoveries(*registry_).Add({{"result", "failed"}})),
      lastPoll_(
          prometheus::BuildGauge()
              .Name("virtsnap_last_successful_poll_timestamp_seconds")
              .Help("Unix time of the latest successful poll of a domain's snapshot tree (0: none yet).")
              .Register(*registry_)
              .Add({})) {}

void ReconcileObserverMetrics::metadataRecovery(bool succeeded) {
  (succeeded ? recoveriesSucceeded_ : recoveriesFailed_).Increment();
}

void ReconcileObserverMetrics::polled(std::chrono::system_clock::time_point when) {
  const double seconds = std::chrono::duration<double>(when.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  if (seconds > lastPoll_.Value()) {
    lastPoll_.Set(seconds);
  }
}

}  // namespace virtsnap::agent
