#pragma once
// The reconcilers' reports (reconcilers/agent_observer.h) as Prometheus metrics:
// virtsnap_metadata_recoveries_total{result} (succeeded, failed: a lost snapshot tree redefined from
// the recorded definitions) and virtsnap_last_successful_poll_timestamp_seconds (unix seconds of the
// latest successful read of any domain's snapshot tree; 0 until the first). Thread-safe.

#include <chrono>
#include <memory>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "reconcilers/agent_observer.h"

namespace virtsnap::agent {

class ReconcileObserverMetrics final : public reconcilers::AgentObserver {
 public:
  explicit ReconcileObserverMetrics(std::shared_ptr<prometheus::Registry> registry);

  void metadataRecovery(bool succeeded) override;
  void polled(std::chrono::system_clock::time_point when) override;

 private:
  const std::shared_ptr<prometheus::Registry> registry_;  // owns the metrics below
  prometheus::Counter& recoveriesSucceeded_;
  prometheus::Counter& recoveriesFailed_;
  prometheus::Gauge& lastPoll_;
  std::mutex mutex_;  // keeps lastPoll_ from moving back when two workers report at once
};

}  // namespace virtsnap::agent
