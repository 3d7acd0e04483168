#pragma once
// Helpers for the work queue and controller tests: read one series back from a prometheus Registry
// (through Collect(), as a scrape would), and check that no key's latest version went unprocessed.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace virtsnap::testsupport {

// The series of `family` whose labels are exactly `labels`.
inline std::optional<prometheus::ClientMetric> findSeries(
    const prometheus::Registry& registry, const std::string& family,
    std::vector<prometheus::ClientMetric::Label> labels) {
  std::sort(labels.begin(), labels.end());
  for (const prometheus::MetricFamily& collected : registry.Collect()) {
    if (collected.name != family) {
      continue;
    }
    for (const prometheus::ClientMetric& series : collected.metric) {
      std::vector<prometheus::ClientMetric::Label> seriesLabels = series.label;
      std::sort(seriesLabels.begin(), seriesLabels.end());
      if (seriesLabels == labels) {
        return series;
      }
    }
  }
  return std::nullopt;
}

// A counter's or gauge's value; -1 when the series does not exist (so a missing series fails a test).
inline double counterValue(const prometheus::Registry& registry, const std::string& family,
                           std::vector<prometheus::ClientMetric::Label> labels) {
  auto series = findSeries(registry, family, std::move(labels));
  return series ? series->counter.value : -1;
}

inline double gaugeValue(const prometheus::Registry& registry, const std::string& family,
                         std::vector<prometheus::ClientMetric::Label> labels) {
  auto series = findSeries(registry, family, std::move(labels));
  return series ? series->gauge.value : -1;
}

inline prometheus::ClientMetric::Histogram histogramValue(
    const prometheus::Registry& registry, const std::string& family,
    std::vector<prometheus::ClientMetric::Label> labels) {
  auto series = findSeries(registry, family, std::move(labels));
  return series ? series->histogram : prometheus::ClientMetric::Histogram{};
}

// Whether every key's last processing saw its latest version: no add was lost or left unprocessed.
template <std::size_t N>
bool allSeen(const std::array<std::atomic<int>, N>& seen, const std::array<std::atomic<int>, N>& version) {
  for (std::size_t i = 0; i < N; ++i) {
    if (seen[i].load() != version[i].load()) {
      return false;
    }
  }
  return true;
}

}  // namespace virtsnap::testsupport
