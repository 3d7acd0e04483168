#pragma once
// The engine that drives a Reconciler (controller-runtime's pkg/internal/controller): N workers take keys
// from a WorkQueue and call reconcile(); one private place, handleOutcome(), turns the outcome into queue
// actions and metrics, so no reconciler touches the queue or the metrics itself:
//   done             -> forget                      result="success"
//   requeueAfter(d)  -> forget, addAfter(d)         result="requeue_after"
//   error            -> addRateLimited              result="error", reconcile_errors_total
//   terminalError    -> forget, no requeue          result="error", reconcile_errors_total and
//                                                   terminal_reconcile_errors_total
// A reconciler that throws is caught, logged and handled as an error (plus reconcile_panics_total); the
// worker lives on. A key is never reconciled by two workers at once (the WorkQueue guarantees it).
//
// Lifecycle: enqueue() works before start() (keys wait); start() runs the workers once; stop() (and the
// destructor) shuts the queue, lets reconciles in flight finish and joins the workers. Called from inside a
// reconcile, stop() only shuts the queue (a worker cannot join itself); the destructor joins.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "base/clock.h"
#include "base/logger.h"
#include "controller/kube/controller_metrics.h"
#include "controller/kube/rate_limiter.h"
#include "controller/kube/reconciler.h"
#include "controller/kube/work_queue.h"

namespace virtsnap::kube {

struct ControllerOptions {
  std::string name;                                // the metrics' controller label; logs as controller/<name>
  int workers = 1;                                 // MaxConcurrentReconciles (at least 1)
  ClockPtr clock;                                  // null: the system clock
  RateLimiterPtr rateLimiter;                      // null: defaultControllerRateLimiter(clock)
  std::shared_ptr<prometheus::Registry> registry;  // null: a private registry (metrics still counted)
  LoggerPtr logger;                                // null: the process's logger, as it is at each line
};

class Controller {
 public:
  Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers; false if the controller was started (or stopped) before.
  bool start();
  // Stops taking keys, waits for the reconciles in flight and joins the workers. Idempotent. From a
  // reconcile it only stops taking keys.
  void stop();

  // For event handlers: the object with this "namespace/name" key needs a reconcile.
  void enqueue(const std::string& key);
  void enqueue(const Request& request);
  // Reconcile the key after `delay` (e.g. a periodic poll) unless something enqueues it sooner.
  void enqueueAfter(const std::string& key, std::chrono::nanoseconds delay);

  const std::string& name() const { return name_; }
  WorkQueue& queue() { return *queue_; }

 private:
  void worker();
  void reconcileKey(const std::string& key);
  ReconcileResult invokeReconciler(const std::string& key);
  void handleOutcome(const std::string& key, const ReconcileResult& outcome);  // the one place
  void log(LogLevel level, const std::string& line) const;

  const std::string name_;
  const int workers_;
  const ClockPtr clock_;
  const std::shared_ptr<Reconciler> reconciler_;
  const LoggerPtr logger_;  // may be null
  const std::shared_ptr<prometheus::Registry> registry_;
  ControllerMetrics metrics_;  // thread-safe
  // Thread-safe; a pointer so the queue (and its threads) go before the metrics registry does.
  std::unique_ptr<WorkQueue> queue_;

  std::mutex lifecycleMutex_;  // guards started_ and threads_ (held through stop()'s joins)
  bool started_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace virtsnap::kube
