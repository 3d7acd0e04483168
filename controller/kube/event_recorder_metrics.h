#pragma once
// The event recorder's outcomes as Prometheus counters, read from its stats at each scrape (so they
// cannot drift from what the recorder counted): event_recorder_events_dropped_total (the queue was full,
// the recorder had stopped, or the server was gone at stop) and event_recorder_events_total{outcome}
// for every outcome of EventRecorderStats (dropped, filtered, created, patched,
// rejected, abandoned).

#include <functional>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "controller/kube/event_recorder_api.h"

namespace virtsnap::kube {

class EventRecorderMetrics final : public prometheus::Collectable {
 public:
  explicit EventRecorderMetrics(std::function<EventRecorderStats()> stats);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::function<EventRecorderStats()> stats_;
};

}  // namespace virtsnap::kube
