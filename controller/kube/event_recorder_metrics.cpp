#include "controller/kube/event_recorder_metrics.h"

#include <cstdint>
#include <string>
#include <utility>

namespace virtsnap::kube {
namespace {

prometheus::ClientMetric counterValue(std::uint64_t value,
                                      std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = static_cast<double>(value);
  return metric;
}

}  // namespace

EventRecorderMetrics::EventRecorderMetrics(std::function<EventRecorderStats()> stats)
    : stats_(std::move(stats)) {}

std::vector<prometheus::MetricFamily> EventRecorderMetrics::Collect() const {
  const EventRecorderStats stats = stats_();
  prometheus::MetricFamily dropped;
  dropped.name = "event_recorder_events_dropped_total";
  dropped.help =
      "Events the recorder dropped unsent: its queue was full, it had stopped, or the server was gone.";
  dropped.type = prometheus::MetricType::Counter;
  dropped.metric.push_back(counterValue(stats.dropped, {}));

  prometheus::MetricFamily outcomes;
  outcomes.name = "event_recorder_events_total";
  outcomes.help = "Events recorded, by what became of them.";
  outcomes.type = prometheus::MetricType::Counter;
  const std::pair<const char*, std::uint64_t> byOutcome[] = {
      {"dropped", stats.dropped}, {"filtered", stats.filtered}, {"created", stats.created},
      {"patched", stats.patched}, {"rejected", stats.rejected}, {"abandoned", stats.abandoned}};
  for (const auto& [outcome, value] : byOutcome) {
    outcomes.metric.push_back(counterValue(value, {{"outcome", outcome}}));
  }
  return {std::move(dropped), std::move(outcomes)};
}

}  // namespace virtsnap::kube
