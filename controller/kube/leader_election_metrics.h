#pragma once
// The leader election's Prometheus gauge, as client-go's (tools/leaderelection/metrics.go):
// leader_election_master_status{name} is 1 while this process holds the Lease `name`, else 0.
// The series exists from construction on, at 0. Thread-safe.

#include <memory>
#include <string>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace virtsnap::kube {

class LeaderElectionMetrics {
 public:
  LeaderElectionMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& leaseName);

  void leading(bool holding);

 private:
  const std::shared_ptr<prometheus::Registry> registry_;  // owns the gauge
  prometheus::Gauge& status_;
};

}  // namespace virtsnap::kube
