#include "controller/kube/controller.h"

#include <algorithm>
#include <exception>

#include "controller/kube/rate_limiters.h"

namespace virtsnap::kube {

namespace {

// The controller whose worker the current thread is, so stop() can tell it was called from a reconcile.
thread_local const Controller* workerOf = nullptr;

ClockPtr clockOrSystem(ClockPtr clock) {
  return clock ? std::move(clock) : systemClock();
}

}  // namespace

Controller::Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler)
    : name_(std::move(options.name)),
      workers_(std::max(1, options.workers)),
      clock_(clockOrSystem(std::move(options.clock))),
      reconciler_(std::move(reconciler)),
      logger_(std::move(options.logger)),
      registry_(options.registry ? std::move(options.registry) : std::make_shared<prometheus::Registry>()),
      metrics_(registry_, name_, workers_) {
  RateLimiterPtr rateLimiter =
      options.rateLimiter ? std::move(options.rateLimiter) : defaultControllerRateLimiter(clock_);
  queue_ = std::make_unique<WorkQueue>(clock_, std::move(rateLimiter),
                                       std::make_unique<WorkqueueMetrics>(registry_, name_, clock_));
}

Controller::~Controller() {
  stop();
}

bool Controller::start() {
  std::lock_guard lock(lifecycleMutex_);
  if (started_) {
    return false;
  }
  started_ = true;
  if (queue_->shuttingDown()) {
    return false;  // stopped before it ever started
  }
  threads_.reserve(static_cast<std::size_t>(workers_));
  for (int i = 0; i < workers_; ++i) {
    threads_.emplace_back([this] { worker(); });
  }
  return true;
}

void Controller::stop() {
  queue_->shutDown();
  if (workerOf == this) {
    return;  // from inside a reconcile: the workers end on their own; the destructor joins them
  }
  std::lock_guard lock(lifecycleMutex_);
  started_ = true;  // a stopped controller cannot start
  for (std::thread& thread : threads_) {
    thread.join();
  }
  threads_.clear();
}

void Controller::enqueue(const std::string& key) {
  queue_->add(key);
}

void Controller::enqueue(const Request& request) {
  queue_->add(request.key());
}

void Controller::enqueueAfter(const std::string& key, std::chrono::nanoseconds delay) {
  queue_->addAfter(key, delay);
}

void Controller::worker() {
  workerOf = this;
  while (std::optional<std::string> key = queue_->get()) {
    metrics_.workerBusy();
    reconcileKey(*key);
    metrics_.workerIdle();
    queue_->done(*key);
  }
}

void Controller::reconcileKey(const std::string& key) {
  const Clock::TimePoint start = clock_->now();
  const ReconcileResult outcome = invokeReconciler(key);
  handleOutcome(key, outcome);
  metrics_.reconcileTime(std::chrono::duration<double>(clock_->now() - start).count());
}

ReconcileResult Controller::invokeReconciler(const std::string& key) {
  const std::optional<Request> request = Request::fromKey(key);
  if (!request) {
    return ReconcileResult::terminalError("not a namespace/name key");
  }
  // Exceptions stop here: a reconciler bug must cost one retry, not a worker.
  try {
    return reconciler_->reconcile(*request);
  } catch (const std::exception& thrown) {
    metrics_.reconcilerThrew();
    return ReconcileResult::error(std::string("reconciler threw: ") + thrown.what());
  } catch (...) {
    metrics_.reconcilerThrew();
    return ReconcileResult::error("reconciler threw a non-standard exception");
  }
}

void Controller::handleOutcome(const std::string& key, const ReconcileResult& outcome) {
  switch (outcome.kind()) {
    case ReconcileResult::Kind::Done:
      queue_->forget(key);
      metrics_.reconciled(ControllerMetrics::Result::Success);
      return;
    case ReconcileResult::Kind::RequeueAfter:
      // A planned look later is not a failure: the backoff starts over.
      queue_->forget(key);
      queue_->addAfter(key, outcome.delay());
      metrics_.reconciled(ControllerMetrics::Result::RequeueAfter);
      return;
    case ReconcileResult::Kind::Error:
      queue_->addRateLimited(key);
      metrics_.reconcileError();
      metrics_.reconciled(ControllerMetrics::Result::Error);
      log(LogLevel::Warning, "reconcile " + key + " failed (will retry, attempt " +
                                 std::to_string(queue_->numRequeues(key)) + "): " + outcome.message());
      return;
    case ReconcileResult::Kind::TerminalError:
      // Retrying cannot help; the next change to the object enqueues it again, from a fresh backoff.
      queue_->forget(key);
      metrics_.terminalReconcileError();
      metrics_.reconcileError();
      metrics_.reconciled(ControllerMetrics::Result::Error);
      log(LogLevel::Error, "reconcile " + key + " failed terminally (not retried): " + outcome.message());
      return;
  }
}

void Controller::log(LogLevel level, const std::string& line) const {
  const LoggerPtr logger = logger_ ? logger_ : processLogger();
  if (logger->enabled(level)) {
    logger->log(level, "controller/" + name_, line);
  }
}

}  // namespace virtsnap::kube
