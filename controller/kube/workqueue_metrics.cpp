#include "controller/kube/workqueue_metrics.h"

#include <algorithm>

namespace virtsnap::kube {

namespace {

prometheus::Labels queueLabels(const std::string& name) {
  return {{"name", name}, {"controller", name}};
}

}  // namespace

const std::vector<double>& WorkqueueMetrics::durationBuckets() {
  // prometheus.ExponentialBuckets(10e-9, 10, 12), written out so every boundary is exact.
  static const std::vector<double> kBuckets{1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000};
  return kBuckets;
}

WorkqueueMetrics::WorkqueueMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& name,
                                   ClockPtr clock)
    : registry_(std::move(registry)),
      clock_(std::move(clock)),
      depth_(prometheus::BuildGauge()
                 .Name("workqueue_depth")
                 .Help("Current depth of workqueue")
                 .Register(*registry_)
                 .Add(queueLabels(name))),
      adds_(prometheus::BuildCounter()
                .Name("workqueue_adds_total")
                .Help("Total number of adds handled by workqueue")
                .Register(*registry_)
                .Add(queueLabels(name))),
      queueDuration_(prometheus::BuildHistogram()
                         .Name("workqueue_queue_duration_seconds")
                         .Help("How long in seconds an item stays in workqueue before being requested")
                         .Register(*registry_)
                         .Add(queueLabels(name), durationBuckets())),
      workDuration_(prometheus::BuildHistogram()
                        .Name("workqueue_work_duration_seconds")
                        .Help("How long in seconds processing an item from workqueue takes.")
                        .Register(*registry_)
                        .Add(queueLabels(name), durationBuckets())),
      unfinishedWork_(prometheus::BuildGauge()
                          .Name("workqueue_unfinished_work_seconds")
                          .Help("How many seconds of work has been done that is in progress and hasn't been "
                                "observed by work_duration. Large values indicate stuck threads. One can "
                                "deduce the number of stuck threads by observing the rate at which this "
                                "increases.")
                          .Register(*registry_)
                          .Add(queueLabels(name))),
      longestRunning_(prometheus::BuildGauge()
                          .Name("workqueue_longest_running_processor_seconds")
                          .Help("How many seconds has the longest running processor for workqueue been "
                                "running.")
                          .Register(*registry_)
                          .Add(queueLabels(name))),
      retries_(prometheus::BuildCounter()
                   .Name("workqueue_retries_total")
                   .Help("Total number of retries handled by workqueue")
                   .Register(*registry_)
                   .Add(queueLabels(name))) {}

double WorkqueueMetrics::secondsSince(Clock::TimePoint start) const {
  return std::chrono::duration<double>(clock_->now() - start).count();
}

void WorkqueueMetrics::add(const std::string& key) {
  adds_.Increment();
  depth_.Increment();
  const auto now = clock_->now();
  std::lock_guard lock(mutex_);
  addTimes_.try_emplace(key, now);  // the first add since the last get is when the wait began
}

void WorkqueueMetrics::get(const std::string& key) {
  depth_.Decrement();
  const auto now = clock_->now();
  std::lock_guard lock(mutex_);
  processingStartTimes_[key] = now;
  auto added = addTimes_.find(key);
  if (added != addTimes_.end()) {
    queueDuration_.Observe(std::chrono::duration<double>(now - added->second).count());
    addTimes_.erase(added);
  }
}

void WorkqueueMetrics::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto started = processingStartTimes_.find(key);
  if (started != processingStartTimes_.end()) {
    workDuration_.Observe(secondsSince(started->second));
    processingStartTimes_.erase(started);
  }
}

void WorkqueueMetrics::retry() {
  retries_.Increment();
}

void WorkqueueMetrics::updateUnfinishedWork() {
  double total = 0;
  double oldest = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : processingStartTimes_) {
      const double age = secondsSince(entry.second);
      total += age;
      oldest = std::max(oldest, age);
    }
  }
  unfinishedWork_.Set(total);
  longestRunning_.Set(oldest);
}

}  // namespace virtsnap::kube
