#pragma once
// A controller's Prometheus metrics, named, labelled and bucketed as controller-runtime's
// (pkg/internal/controller/metrics/metrics.go): controller_runtime_reconcile_total{controller,result},
// _reconcile_errors_total, _terminal_reconcile_errors_total, _reconcile_panics_total (here: reconcilers
// that threw), _reconcile_time_seconds, _active_workers and _max_concurrent_reconciles. Every series
// exists from construction on (at zero), as controller-runtime's initMetrics does, so dashboards and
// rate() see the controller before its first reconcile. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace virtsnap::kube {

class ControllerMetrics {
 public:
  // The `result` label values of controller_runtime_reconcile_total. Its "requeue" series (a
  // rate-limited requeue without an error, controller-runtime's deprecated Result.Requeue) exists at
  // zero for dashboards' sake; no ReconcileResult produces it.
  enum class Result { Success, Error, RequeueAfter };

  ControllerMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& controller,
                    int workers);

  void reconciled(Result result);
  void reconcileError();
  void terminalReconcileError();
  void reconcilerThrew();
  void reconcileTime(double seconds);
  void workerBusy();
  void workerIdle();

  // controller-runtime's buckets for controller_runtime_reconcile_time_seconds (5 ms to 60 s).
  static const std::vector<double>& reconcileTimeBuckets();

 private:
  const std::shared_ptr<prometheus::Registry> registry_;  // owns the metrics below
  prometheus::Counter& success_;
  prometheus::Counter& error_;
  prometheus::Counter& requeueAfter_;
  prometheus::Counter& errors_;
  prometheus::Counter& terminalErrors_;
  prometheus::Counter& panics_;
  prometheus::Histogram& reconcileTime_;
  prometheus::Gauge& activeWorkers_;
  prometheus::Gauge& maxConcurrentReconciles_;
};

}  // namespace virtsnap::kube
