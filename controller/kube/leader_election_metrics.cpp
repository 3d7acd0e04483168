#include "controller/kube/leader_election_metrics.h"

namespace virtsnap::kube {

LeaderElectionMetrics::LeaderElectionMetrics(std::shared_ptr<prometheus::Registry> registry,
                                             const std::string& leaseName)
    : registry_(std::move(registry)),
      status_(
          prometheus::BuildGauge()
              .Name("leader_election_master_status")
              .Help("Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 "
                    "indicates master. 'name' is the string used to identify the lease.")
              .Register(*registry_)
              .Add({{"name", leaseName}})) {}

void LeaderElectionMetrics::leading(bool holding) {
  status_.Set(holding ? 1.0 : 0.0);
}

}  // namespace virtsnap::kube
