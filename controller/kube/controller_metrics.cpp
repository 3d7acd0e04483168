#include "controller/kube/controller_metrics.h"

namespace virtsnap::kube {

namespace {

prometheus::Family<prometheus::Counter>& counterFamily(prometheus::Registry& registry,
                                                       const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gaugeFamily(prometheus::Registry& registry, const std::string& name,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Counter& totalWithResult(prometheus::Registry& registry, const std::string& controller,
                                     const std::string& result) {
  return counterFamily(registry, "controller_runtime_reconcile_total",
                       "Total number of reconciliations per controller")
      .Add({{"controller", controller}, {"result", result}});
}

}  // namespace

const std::vector<double>& ControllerMetrics::reconcileTimeBuckets() {
  static const std::vector<double> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,  0.35,
                                            0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                            1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                            8,     9,    10,    15,   20,  25,   30,  40,   50,   60};
  return kBuckets;
}

ControllerMetrics::ControllerMetrics(std::shared_ptr<prometheus::Registry> registry,
                                     const std::string& controller, int workers)
    : registry_(std::move(registry)),
      success_(totalWithResult(*registry_, controller, "success")),
      error_(totalWithResult(*registry_, controller, "error")),
      requeueAfter_(totalWithResult(*registry_, controller, "requeue_after")),
      errors_(counterFamily(*registry_, "controller_runtime_reconcile_errors_total",
                            "Total number of reconciliation errors per controller")
                  .Add({{"controller", controller}})),
      terminalErrors_(counterFamily(*registry_, "controller_runtime_terminal_reconcile_errors_total",
                                    "Total number of terminal reconciliation errors per controller")
                          .Add({{"controller", controller}})),
      panics_(counterFamily(*registry_, "controller_runtime_reconcile_panics_total",
                            "Total number of reconciliation panics per controller")
                  .Add({{"controller", controller}})),
      reconcileTime_(prometheus::BuildHistogram()
                         .Name("controller_runtime_reconcile_time_seconds")
                         .Help("Length of time per reconciliation per controller")
                         .Register(*registry_)
                         .Add({{"controller", controller}}, reconcileTimeBuckets())),
      activeWorkers_(gaugeFamily(*registry_, "controller_runtime_active_workers",
                                 "Number of currently used workers per controller")
                         .Add({{"controller", controller}})),
      maxConcurrentReconciles_(gaugeFamily(*registry_, "controller_runtime_max_concurrent_reconciles",
                                           "Maximum number of concurrent reconciles per controller")
                                   .Add({{"controller", controller}})) {
  totalWithResult(*registry_, controller, "requeue");
  maxConcurrentReconciles_.Set(workers);
  activeWorkers_.Set(0);
}

void ControllerMetrics::reconciled(Result result) {
  switch (result) {
    case Result::Success:
      success_.Increment();
      return;
    case Result::Error:
      error_.Increment();
      return;
    case Result::RequeueAfter:
      requeueAfter_.Increment();
      return;
  }
}

void ControllerMetrics::reconcileError() {
  errors_.Increment();
}

void ControllerMetrics::terminalReconcileError() {
  terminalErrors_.Increment();
}

void ControllerMetrics::reconcilerThrew() {
  panics_.Increment();
}

void ControllerMetrics::reconcileTime(double seconds) {
  reconcileTime_.Observe(seconds);
}

void ControllerMetrics::workerBusy() {
  activeWorkers_.Increment();
}

void ControllerMetrics::workerIdle() {
  activeWorkers_.Decrement();
}

}  // namespace virtsnap::kube
