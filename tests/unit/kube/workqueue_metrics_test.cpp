#include "controller/kube/workqueue_metrics.h"

#include <sstream>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "controller/kube/rate_limiters.h"
#include "controller/kube/work_queue.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"
#include "tests/support/workqueue_test_support.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::counterValue;
using testsupport::eventually;
using testsupport::gaugeValue;
using testsupport::histogramValue;

const std::vector<prometheus::ClientMetric::Label> kLabels{{"name", "snapshots"},
                                                           {"controller", "snapshots"}};

class WorkqueueMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queue_ = std::make_unique<WorkQueue>(
        clock_, std::make_unique<ItemExponentialRateLimiter>(seconds(1), seconds(1000)),
        std::make_unique<WorkqueueMetrics>(registry_, "snapshots", clock_));
    // The ticker parks on the clock before any test moves it, so its first tick is 500 ms from here.
    ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));
  }
  double gauge(const std::string& family) const { return gaugeValue(*registry_, family, kLabels); }
  double counter(const std::string& family) const { return counterValue(*registry_, family, kLabels); }

  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<WorkQueue> queue_;
};

TEST_F(WorkqueueMetricsTest, AddsCountOnlyKeysThatBecomePendingAndDepthFollowsTheQueue) {
  queue_->add("ns/a");
  queue_->add("ns/a");  // deduplicated: not an add
  queue_->add("ns/b");
  EXPECT_EQ(counter("workqueue_adds_total"), 2);
  EXPECT_EQ(gauge("workqueue_depth"), 2);
  ASSERT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(gauge("workqueue_depth"), 1);
  queue_->add("ns/a");  // dirty while processing: an add, as in client-go
  EXPECT_EQ(counter("workqueue_adds_total"), 3);
  queue_->done("ns/a");
  ASSERT_EQ(queue_->get(), "ns/b");
  ASSERT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(gauge("workqueue_depth"), 0);
}

TEST_F(WorkqueueMetricsTest, QueueAndWorkDurationsAreMeasuredOnTheClock) {
  queue_->add("ns/a");
  clock_->advance(seconds(2));
  queue_->add("ns/a");  // a second add does not restart the wait
  ASSERT_EQ(queue_->get(), "ns/a");
  clock_->advance(seconds(3));
  queue_->done("ns/a");

  const auto queued = histogramValue(*registry_, "workqueue_queue_duration_seconds", kLabels);
  EXPECT_EQ(queued.sample_count, 1U);
  EXPECT_DOUBLE_EQ(queued.sample_sum, 2.0);
  const auto worked = histogramValue(*registry_, "workqueue_work_duration_seconds", kLabels);
  EXPECT_EQ(worked.sample_count, 1U);
  EXPECT_DOUBLE_EQ(worked.sample_sum, 3.0);
  // controller-runtime's buckets: one a decade from 10 ns to 1000 s (plus +Inf).
  ASSERT_EQ(worked.bucket.size(), 13U);
  EXPECT_DOUBLE_EQ(worked.bucket.front().upper_bound, 1e-8);
  EXPECT_DOUBLE_EQ(worked.bucket[11].upper_bound, 1000);
  EXPECT_EQ(worked.bucket[8].cumulative_count, 0U);  // le=1
  EXPECT_EQ(worked.bucket[9].cumulative_count, 1U);  // le=10
}

TEST_F(WorkqueueMetricsTest, RetriesCountDelayedAndRateLimitedAdds) {
  queue_->addAfter("ns/a", seconds(1));
  queue_->addRateLimited("ns/b");
  queue_->add("ns/c");
  EXPECT_EQ(counter("workqueue_retries_total"), 2);
}

TEST_F(WorkqueueMetricsTest, UnfinishedWorkIsPublishedEveryHalfSecondOfClockTime) {
  queue_->add("ns/a");
  queue_->add("ns/b");
  ASSERT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(gauge("workqueue_unfinished_work_seconds"), 0);
  clock_->advance(milliseconds(500));
  ASSERT_TRUE(eventually([&] { return gauge("workqueue_unfinished_work_seconds") == 0.5; }));
  EXPECT_EQ(gauge("workqueue_longest_running_processor_seconds"), 0.5);

  ASSERT_EQ(queue_->get(), "ns/b");
  clock_->advance(milliseconds(500));
  // ns/a has run for 1 s and ns/b for 0.5 s.
  ASSERT_TRUE(eventually([&] { return gauge("workqueue_unfinished_work_seconds") == 1.5; }));
  EXPECT_EQ(gauge("workqueue_longest_running_processor_seconds"), 1.0);

  queue_->done("ns/a");
  queue_->done("ns/b");
  clock_->advance(milliseconds(500));
  ASSERT_TRUE(eventually([&] { return gauge("workqueue_unfinished_work_seconds") == 0; }));
  EXPECT_EQ(gauge("workqueue_longest_running_processor_seconds"), 0);
}

TEST_F(WorkqueueMetricsTest, ASecondQueueOfTheSameNameSharesTheSeries) {
  queue_->add("ns/a");
  WorkqueueMetrics again(registry_, "snapshots", clock_);  // e.g. a controller built again
  again.add("ns/b");
  EXPECT_EQ(counter("workqueue_adds_total"), 2);
}

TEST_F(WorkqueueMetricsTest, SerializesWithPrometheusNamesHelpAndTypes) {
  queue_->add("ns/a");
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, registry_->Collect());
  const std::string out = text.str();
  for (const char* expected : {
           "# HELP workqueue_depth Current depth of workqueue\n",
           "# TYPE workqueue_depth gauge\n",
           "# HELP workqueue_adds_total Total number of adds handled by workqueue\n",
           "# TYPE workqueue_adds_total counter\n",
           "# HELP workqueue_queue_duration_seconds How long in seconds an item stays in workqueue before "
           "being "
           "requested\n",
           "# TYPE workqueue_queue_duration_seconds histogram\n",
           "# TYPE workqueue_work_duration_seconds histogram\n",
           "# TYPE workqueue_unfinished_work_seconds gauge\n",
           "# TYPE workqueue_longest_running_processor_seconds gauge\n",
           "# TYPE workqueue_retries_total counter\n",
           "workqueue_adds_total{controller=\"snapshots\",name=\"snapshots\"} 1\n",
           "workqueue_queue_duration_seconds_bucket{controller=\"snapshots\",name=\"snapshots\",le=\"+Inf\"} "
           "0\n",
       }) {
    EXPECT_NE(out.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << out;
  }
}

}  // namespace
}  // namespace virtsnap::kube
