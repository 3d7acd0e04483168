#pragma once
// The work queue's Prometheus metrics, named and labelled as controller-runtime registers them
// (pkg/internal/metrics/workqueue.go): workqueue_depth, _adds_total, _queue_duration_seconds,
// _work_duration_seconds, _unfinished_work_seconds, _longest_running_processor_seconds and
// _retries_total, each with labels name and controller (both the queue's name, as controller-runtime
// sets them). Durations are read on the injected clock, so tests move time instead of sleeping.
//
// The queue reports each key's add, get and done (client-go's queueMetrics); updateUnfinishedWork() is
// called periodically to publish how long in-flight keys have been running. Thread-safe.
//
// Families are registered in the given registry (merged with a queue of the same name registered
// before); the registry must merge duplicates, which prometheus::Registry does by default.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "base/clock.h"

namespace virtsnap::kube {

class WorkqueueMetrics {
 public:
  WorkqueueMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& name, ClockPtr clock);

  // A key became pending (not already pending).
  void add(const std::string& key);
  // A worker took a pending key.
  void get(const std::string& key);
  // A worker finished with a key.
  void done(const std::string& key);
  // A key was put back with a delay (addAfter, addRateLimited).
  void retry();
  // Publishes the summed and the longest running time of the keys being processed now.
  void updateUnfinishedWork();

  // controller-runtime's buckets for both duration histograms: 10 ns to 1000 s, one per decade.
  static const std::vector<double>& durationBuckets();

 private:
  double secondsSince(Clock::TimePoint start) const;

  const std::shared_ptr<prometheus::Registry> registry_;  // owns the metrics below
  const ClockPtr clock_;
  prometheus::Gauge& depth_;
  prometheus::Counter& adds_;
  prometheus::Histogram& queueDuration_;
  prometheus::Histogram& workDuration_;
  prometheus::Gauge& unfinishedWork_;
  prometheus::Gauge& longestRunning_;
  prometheus::Counter& retries_;

  std::mutex mutex_;  // guards the two maps below (the metrics themselves are thread-safe)
  std::unordered_map<std::string, Clock::TimePoint> addTimes_;
  std::unordered_map<std::string, Clock::TimePoint> processingStartTimes_;
};

}  // namespace virtsnap::kube
