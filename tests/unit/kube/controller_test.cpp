#include "controller/kube/controller.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "controller/kube/rate_limiters.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_logger.h"
#include "tests/support/workqueue_test_support.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::allSeen;
using testsupport::counterValue;
using testsupport::eventually;
using testsupport::gaugeValue;
using testsupport::histogramValue;

// Answers each reconcile with the next scripted step (the last one repeats) and records the requests.
class ScriptedReconciler final : public Reconciler {
 public:
  using Step = std::function<ReconcileResult(const Request&)>;

  void script(std::vector<Step> steps) {
    std::lock_guard lock(mutex_);
    steps_ = std::move(steps);
  }
  ReconcileResult reconcile(const Request& request) override {
    Step step;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      step = steps_.at(std::min(requests_.size(), steps_.size()) - 1);
    }
    return step(request);
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;  // guards steps_ and requests_
  std::vector<Step> steps_;
  std::vector<Request> requests_;
};

ScriptedReconciler::Step returns(ReconcileResult result) {
  return [result](const Request&) { return result; };
}

class ControllerTest : public ::testing::Test {
 protected:
  void makeController(int workers = 1) {
    ControllerOptions options;
    options.name = "snapshot";
    options.workers = workers;
    options.clock = clock_;
    options.registry = registry_;
    options.logger = logger_;
    controller_ = std::make_unique<Controller>(std::move(options), reconciler_);
  }
  // Waits until `count` reconciles have been fully handled (the reconcile time is recorded last).
  bool handled(std::uint64_t count) {
    return eventually([&] {
      return histogramValue(*registry_, "controller_runtime_reconcile_time_seconds",
                            {{"controller", "snapshot"}})
                 .sample_count == count;
    });
  }
  double total(const std::string& result) const {
    return counterValue(*registry_, "controller_runtime_reconcile_total",
                        {{"controller", "snapshot"}, {"result", result}});
  }
  double counter(const std::string& family) const {
    return counterValue(*registry_, family, {{"controller", "snapshot"}});
  }
  std::vector<std::string> logLines() {
    std::vector<std::string> messages;
    for (const auto& line : logger_->lines()) {
      messages.push_back(line.message);
    }
    return messages;
  }

  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ScriptedReconciler> reconciler_ = std::make_shared<ScriptedReconciler>();
  std::shared_ptr<virtsnap::testsupport::RecordingLogger> logger_ =
      std::make_shared<virtsnap::testsupport::RecordingLogger>();
  std::unique_ptr<Controller> controller_;
};

TEST(Request, KeysRoundTripLikeClientGo) {
  EXPECT_EQ((Request{"ns", "a"}).key(), "ns/a");
  EXPECT_EQ((Request{"", "node-1"}).key(), "node-1");
  EXPECT_EQ(Request::fromKey("ns/a"), (Request{"ns", "a"}));
  EXPECT_EQ(Request::fromKey("node-1"), (Request{"", "node-1"}));
  EXPECT_EQ(Request::fromKey(""), std::nullopt);
  EXPECT_EQ(Request::fromKey("a/b/c"), std::nullopt);
  EXPECT_EQ(Request::fromKey("/a"), std::nullopt);
  EXPECT_EQ(Request::fromKey("ns/"), std::nullopt);
}

TEST_F(ControllerTest, DoneForgetsTheBackoffAndCountsSuccess) {
  reconciler_->script({returns(ReconcileResult::error("busy")), returns(ReconcileResult::done())});
  makeController();
  controller_->enqueue(Request{"ns", "a"});
  ASSERT_TRUE(controller_->start());
  ASSERT_TRUE(handled(1));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 1);
  clock_->advance(milliseconds(5));
  ASSERT_TRUE(handled(2));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 0);
  EXPECT_EQ(controller_->queue().delayedLen(), 0U);
  EXPECT_EQ(total("success"), 1);
  EXPECT_EQ(total("error"), 1);
  EXPECT_EQ(reconciler_->requests(), (std::vector<Request>{{"ns", "a"}, {"ns", "a"}}));
}

TEST_F(ControllerTest, RequeueAfterForgetsTheBackoffAndComesBackAfterTheDelay) {
  reconciler_->script({returns(ReconcileResult::error("busy")),
                       returns(ReconcileResult::requeueAfter(seconds(30))),
                       returns(ReconcileResult::done())});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  clock_->advance(milliseconds(5));
  ASSERT_TRUE(handled(2));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 0);
  EXPECT_EQ(controller_->queue().delayedLen(), 1U);
  EXPECT_EQ(total("requeue_after"), 1);

  // A marker due at 29 s is reconciled while ns/a still waits for its 30 s.
  controller_->enqueueAfter("ns/marker", seconds(29));
  clock_->advance(seconds(29));
  ASSERT_TRUE(handled(3));
  EXPECT_EQ(controller_->queue().delayedLen(), 1U);
  clock_->advance(seconds(1));
  ASSERT_TRUE(handled(4));
  EXPECT_EQ(controller_->queue().delayedLen(), 0U);
  const auto requests = reconciler_->requests();
  ASSERT_EQ(requests.size(), 4U);
  EXPECT_EQ(requests[2].name, "marker");
  EXPECT_EQ(requests[3].name, "a");
}

TEST_F(ControllerTest, ErrorsAreRetriedWithExponentialBackoff) {
  const ReconcileResult failure = ReconcileResult::error("libvirt: connection reset");
  reconciler_->script(
      {returns(failure), returns(failure), returns(failure), returns(ReconcileResult::done())});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 1);
  clock_->advance(milliseconds(5));
  ASSERT_TRUE(handled(2));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 2);
  clock_->advance(milliseconds(10));
  ASSERT_TRUE(handled(3));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 3);
  clock_->advance(milliseconds(20));
  ASSERT_TRUE(handled(4));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 0);
  EXPECT_EQ(total("error"), 3);
  EXPECT_EQ(total("success"), 1);
  EXPECT_EQ(counter("controller_runtime_reconcile_errors_total"), 3);
  EXPECT_EQ(counter("controller_runtime_terminal_reconcile_errors_total"), 0);
  EXPECT_EQ(counter("workqueue_retries_total"), -1);  // the workqueue series carry a name label too
  EXPECT_EQ(
      counterValue(*registry_, "workqueue_retries_total", {{"name", "snapshot"}, {"controller", "snapshot"}}),
      3);
  const auto lines = logLines();
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_NE(lines[0].find("ns/a"), std::string::npos);
  EXPECT_NE(lines[0].find("libvirt: connection reset"), std::string::npos);
  // A retried failure is a warning of the controller's own component.
  EXPECT_EQ(logger_->lines()[0].level, LogLevel::Warning);
  EXPECT_EQ(logger_->lines()[0].component, "controller/snapshot");
}

TEST_F(ControllerTest, ATerminalErrorIsCountedAndNotRetried) {
  reconciler_->script(
      {returns(ReconcileResult::error("busy")), returns(ReconcileResult::terminalError("bad spec"))});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  clock_->advance(milliseconds(5));
  ASSERT_TRUE(handled(2));
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 0);  // forgotten
  EXPECT_EQ(controller_->queue().delayedLen(), 0U);        // not requeued
  EXPECT_EQ(controller_->queue().len(), 0U);
  EXPECT_EQ(total("error"), 2);
  EXPECT_EQ(counter("controller_runtime_reconcile_errors_total"), 2);
  EXPECT_EQ(counter("controller_runtime_terminal_reconcile_errors_total"), 1);
  // Much later, only a new enqueue brings it back.
  clock_->advance(seconds(2000));
  controller_->enqueue("ns/marker");
  ASSERT_TRUE(handled(3));
  EXPECT_EQ(reconciler_->requests().back().name, "marker");
  EXPECT_NE(logLines().back().find("bad spec"), std::string::npos);
  EXPECT_EQ(logger_->lines().back().level, LogLevel::Error);  // nothing will retry it
}

TEST_F(ControllerTest, WithoutALoggerOfItsOwnItLogsThroughTheProcessLogger) {
  auto processWide = std::make_shared<virtsnap::testsupport::RecordingLogger>(LogLevel::Warning);
  virtsnap::testsupport::ScopedProcessLogger installed(processWide);
  reconciler_->script({returns(ReconcileResult::error("disk busy"))});
  ControllerOptions options;
  options.name = "snapshot";
  options.clock = clock_;
  options.registry = registry_;
  controller_ = std::make_unique<Controller>(std::move(options), reconciler_);
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  const auto lines = processWide->linesOf("controller/snapshot");
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].level, LogLevel::Warning);
  EXPECT_NE(lines[0].message.find("reconcile ns/a failed (will retry"), std::string::npos)
      << lines[0].message;
  EXPECT_NE(lines[0].message.find("disk busy"), std::string::npos);
  controller_->stop();
}

TEST_F(ControllerTest, AReconcilerThatThrowsCountsAsAnErrorAndTheWorkerLivesOn) {
  reconciler_->script({[](const Request&) -> ReconcileResult { throw std::runtime_error("boom"); },
                       [](const Request&) -> ReconcileResult { throw 42; },
                       returns(ReconcileResult::done())});
  makeController(/*workers=*/1);
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  EXPECT_EQ(total("error"), 1);
  EXPECT_EQ(counter("controller_runtime_reconcile_panics_total"), 1);
  EXPECT_EQ(controller_->queue().numRequeues("ns/a"), 1);
  EXPECT_NE(logLines().back().find("boom"), std::string::npos);
  clock_->advance(milliseconds(5));
  ASSERT_TRUE(handled(2));
  EXPECT_EQ(counter("controller_runtime_reconcile_panics_total"), 2);
  clock_->advance(milliseconds(10));
  ASSERT_TRUE(handled(3));  // the only worker survived both
  EXPECT_EQ(total("success"), 1);
  EXPECT_EQ(total("error"), 2);
}

TEST_F(ControllerTest, AnUnparsableKeyIsATerminalErrorWithoutCallingTheReconciler) {
  reconciler_->script({returns(ReconcileResult::done())});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("a/b/c");
  ASSERT_TRUE(handled(1));
  EXPECT_TRUE(reconciler_->requests().empty());
  EXPECT_EQ(counter("controller_runtime_terminal_reconcile_errors_total"), 1);
  EXPECT_EQ(controller_->queue().delayedLen(), 0U);
}

TEST_F(ControllerTest, EverySeriesExistsAtZeroBeforeTheFirstReconcile) {
  makeController(/*workers=*/3);
  for (const char* result : {"success", "error", "requeue", "requeue_after"}) {
    EXPECT_EQ(total(result), 0) << result;
  }
  EXPECT_EQ(counter("controller_runtime_reconcile_errors_total"), 0);
  EXPECT_EQ(counter("controller_runtime_terminal_reconcile_errors_total"), 0);
  EXPECT_EQ(counter("controller_runtime_reconcile_panics_total"), 0);
  EXPECT_EQ(
      gaugeValue(*registry_, "controller_runtime_max_concurrent_reconciles", {{"controller", "snapshot"}}),
      3);
  EXPECT_EQ(gaugeValue(*registry_, "controller_runtime_active_workers", {{"controller", "snapshot"}}), 0);
}

TEST_F(ControllerTest, ActiveWorkersCountsReconcilesInFlight) {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  reconciler_->script({[&](const Request&) {
    std::unique_lock lock(mutex);
    released.wait(lock, [&] { return release; });
    return ReconcileResult::done();
  }});
  makeController(/*workers=*/3);
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  controller_->enqueue("ns/b");
  auto active = [&] {
    return gaugeValue(*registry_, "controller_runtime_active_workers", {{"controller", "snapshot"}});
  };
  ASSERT_TRUE(eventually([&] { return active() == 2; }));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  ASSERT_TRUE(handled(2));
  EXPECT_TRUE(eventually([&] { return active() == 0; }));
}

TEST_F(ControllerTest, ReconcileTimeIsMeasuredOnTheClock) {
  reconciler_->script({[&](const Request&) {
    clock_->advance(seconds(2));  // the reconcile "takes" two seconds
    return ReconcileResult::done();
  }});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  const auto time =
      histogramValue(*registry_, "controller_runtime_reconcile_time_seconds", {{"controller", "snapshot"}});
  EXPECT_DOUBLE_EQ(time.sample_sum, 2.0);
  ASSERT_EQ(time.bucket.size(), ControllerMetrics::reconcileTimeBuckets().size() + 1);
  EXPECT_DOUBLE_EQ(time.bucket.front().upper_bound, 0.005);
}

TEST_F(ControllerTest, StopLetsTheReconcileInFlightFinish) {
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  reconciler_->script({[&](const Request&) {
    entered = true;
    std::unique_lock lock(mutex);
    released.wait(lock, [&] { return release; });
    finished = true;
    return ReconcileResult::error("retry me");  // its requeue is dropped: the queue is shut
  }});
  makeController();
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  controller_->enqueue("ns/pending");
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  std::atomic<bool> finishedWhenStopReturned{false};
  std::thread stopper([&] {
    controller_->stop();
    finishedWhenStopReturned = finished.load();
  });
  ASSERT_TRUE(eventually([&] { return controller_->queue().shuttingDown(); }));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  stopper.join();
  EXPECT_TRUE(finishedWhenStopReturned.load());
  EXPECT_EQ(reconciler_->requests().size(), 1U);  // ns/pending was not started after the stop
  EXPECT_EQ(controller_->queue().delayedLen(), 0U);
  EXPECT_FALSE(controller_->start());  // a stopped controller stays stopped
}

TEST_F(ControllerTest, StopFromInsideAReconcileStopsWithoutDeadlock) {
  reconciler_->script({[&](const Request&) {
    controller_->stop();
    return ReconcileResult::done();
  }});
  makeController(/*workers=*/2);
  ASSERT_TRUE(controller_->start());
  controller_->enqueue("ns/a");
  ASSERT_TRUE(handled(1));
  EXPECT_TRUE(controller_->queue().shuttingDown());
  controller_->enqueue("ns/b");  // ignored: the controller stopped
  controller_->stop();           // from outside: joins both workers
  EXPECT_EQ(reconciler_->requests().size(), 1U);
  EXPECT_FALSE(controller_->start());
}

TEST_F(ControllerTest, StartsOnlyOnce) {
  reconciler_->script({returns(ReconcileResult::done())});
  makeController();
  EXPECT_TRUE(controller_->start());
  EXPECT_FALSE(controller_->start());
}

// Many workers, thousands of enqueues of a few keys, outcomes mixing done, immediate requeues and
// rate-limited retries while another thread moves the clock: a key is never inside two reconciles at once,
// and the last enqueue of every key is followed by a reconcile that saw it.
TEST_F(ControllerTest, StressNoKeyIsEverReconciledByTwoWorkersAtOnce) {
  constexpr int kKeys = 12;
  constexpr int kEnqueues = 6000;
  std::array<std::atomic<int>, kKeys> version{};
  std::array<std::atomic<int>, kKeys> seen{};
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::array<std::atomic<int>, kKeys> calls{};
  std::atomic<int> overlaps{0};
  reconciler_->script({[&](const Request& request) {
    const int index = std::stoi(request.name);
    if (inFlight[index].fetch_add(1) != 0) {
      ++overlaps;
    }
    seen[index] = version[index].load();
    std::this_thread::yield();
    inFlight[index].fetch_sub(1);
    switch (calls[index].fetch_add(1) % 3) {
      case 0:
        return ReconcileResult::error("transient");  // back after a backoff on the clock
      case 1:
        return ReconcileResult::requeueAfter(std::chrono::nanoseconds(0));  // back at once, via addAfter
      default:
        return ReconcileResult::done();
    }
  }});
  makeController(/*workers=*/4);
  ASSERT_TRUE(controller_->start());
  std::atomic<bool> producing{true};
  std::thread clockMover([&] {
    while (producing.load()) {
      clock_->advance(milliseconds(5));
      std::this_thread::yield();
    }
  });
  std::thread producer([&] {
    for (int i = 0; i < kEnqueues; ++i) {
      const int index = (i * 5) % kKeys;
      ++version[index];
      controller_->enqueue(Request{"ns", std::to_string(index)});
    }
  });
  producer.join();
  EXPECT_TRUE(eventually([&] { return allSeen(seen, version); }));
  producing = false;
  clockMover.join();
  controller_->stop();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(total("error"), kKeys);  // every key's first reconcile failed
}

TEST_F(ControllerTest, MetricsSerializeWithControllerRuntimeNamesHelpAndTypes) {
  makeController(/*workers=*/2);
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, registry_->Collect());
  const std::string out = text.str();
  for (const char* expected : {
           "# HELP controller_runtime_reconcile_total Total number of reconciliations per controller\n",
           "# TYPE controller_runtime_reconcile_total counter\n",
           "controller_runtime_reconcile_total{controller=\"snapshot\",result=\"requeue_after\"} 0\n",
           "# TYPE controller_runtime_reconcile_errors_total counter\n",
           "# TYPE controller_runtime_terminal_reconcile_errors_total counter\n",
           "# HELP controller_runtime_reconcile_time_seconds Length of time per reconciliation per "
           "controller\n",
           "# TYPE controller_runtime_reconcile_time_seconds histogram\n",
           "controller_runtime_reconcile_time_seconds_bucket{controller=\"snapshot\",le=\"0.005\"} 0\n",
           "controller_runtime_reconcile_time_seconds_bucket{controller=\"snapshot\",le=\"60\"} 0\n",
           "# TYPE controller_runtime_active_workers gauge\n",
           "# HELP controller_runtime_max_concurrent_reconciles Maximum number of concurrent reconciles per "
           "controller\n",
           "controller_runtime_max_concurrent_reconciles{controller=\"snapshot\"} 2\n",
           "# TYPE workqueue_depth gauge\n",
           "workqueue_depth{controller=\"snapshot\",name=\"snapshot\"} 0\n",
       }) {
    EXPECT_NE(out.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << out;
  }
}

}  // namespace
}  // namespace virtsnap::kube
