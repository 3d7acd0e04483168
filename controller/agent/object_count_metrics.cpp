#include "controller/agent/object_count_metrics.h"

#include <map>
#include <string>
#include <utility>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "drivers/deletion_block.h"
#include "reconcilers/operation_order.h"

namespace virtsnap::agent {
namespace {

using Labels = std::vector<prometheus::ClientMetric::Label>;

std::string stringAt(const nlohmann::json& object, const char* section, const char* field) {
  auto outer = object.find(section);
  if (outer == object.end() || !outer->is_object()) {
    return "";
  }
  auto inner = outer->find(field);
  return inner != outer->end() && inner->is_string() ? inner->get<std::string>() : "";
}

bool beingDeleted(const nlohmann::json& object) {
  return !stringAt(object, "metadata", "deletionTimestamp").empty();
}

bool conditionTrue(const nlohmann::json& object, std::string_view type) {
  auto status = object.find("status");
  if (status == object.end() || !status->is_object() || !status->contains("conditions") ||
      !(*status)["conditions"].is_array()) {
    return false;
  }
  for (const auto& condition : (*status)["conditions"]) {
    if (condition.is_object() && condition.value("type", "") == type &&
        condition.value("status", "") == "True") {
      return true;
    }
  }
  return false;
}

prometheus::MetricFamily gaugeFamily(const char* name, const char* help,
                                     const std::map<Labels, double>& values) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  for (const auto& [labels, value] : values) {
    prometheus::ClientMetric metric;
    metric.label = labels;
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

ObjectCountMetrics::ObjectCountMetrics(const kube::ObjectCache& domains, const kube::ObjectCache& snapshots)
    : domains_(domains), snapshots_(snapshots) {}

std::vector<prometheus::MetricFamily> ObjectCountMetrics::Collect() const {
  std::map<Labels, double> byState;
  for (const auto& [state, name] : crds::wireNames(crds::DomainState{})) {
    byState[{{"state", std::string(name)}}] = 0;
  }
  byState[{{"state", "Unknown"}}] = 0;
  double unmanaged = 0;
  for (const auto& domain : domains_.list()) {
    const std::string state = stringAt(*domain, "status", "state");
    byState[{{"state", state.empty() ? "Unknown" : state}}] += 1;
    auto status = domain->find("status");
    if (status != domain->end() && status->is_object()) {
      auto names = status->find("unmanagedSnapshots");
      if (names != status->end() && names->is_array()) {
        unmanaged += static_cast<double>(names->size());
      }
    }
  }

  std::map<Labels, double> byPhase;
  for (const auto& [phase, phaseName] : crds::wireNames(crds::SnapshotPhase{})) {
    for (const auto& [location, locationName] : crds::wireNames(crds::SnapshotLocation{})) {
      byPhase[{{"phase", std::string(phaseName)}, {"location", std::string(locationName)}}] = 0;
    }
  }
  std::map<Labels, double> blocked;
  using drivers::DeletionBlockReason;
  for (DeletionBlockReason reason :
       {DeletionBlockReason::ExternalWithMultipleChildren, DeletionBlockReason::ExternalNotInActiveChain,
        DeletionBlockReason::ActiveExternalNotLeaf, DeletionBlockReason::ExternalDescendants,
        DeletionBlockReason::ExternalWithInternalParent, DeletionBlockReason::ExternalWithInternalChildren,
        DeletionBlockReason::InternalNotInCurrentImage, DeletionBlockReason::PausedAfterMemorySnapshot}) {
    blocked[{{"reason", std::string(drivers::toString(reason))}}] = 0;
  }
  for (const auto& snapshot : snapshots_.list()) {
    if (!domains_.get(reconcilers::domainKeyOf(*snapshot))) {
      continue;  // another node's domain, or one not (yet) in the cache
    }
    std::string phase = stringAt(*snapshot, "status", "phase");
    std::string location = stringAt(*snapshot, "status", "location");
    if (location.empty()) {
      location = stringAt(*snapshot, "spec", "location");
    }
    byPhase[{{"phase", phase.empty() ? "Pending" : phase},
             {"location", location.empty() ? "Unknown" : location}}] += 1;
    if (beingDeleted(*snapshot) && conditionTrue(*snapshot, crds::kConditionDeletionBlocked)) {
      const std::string reason = stringAt(*snapshot, "status", "deletionBlockedReason");
      blocked[{{"reason", reason.empty() ? "Unknown" : reason}}] += 1;
    }
  }

  std::vector<prometheus::MetricFamily> families;
  families.push_back(gaugeFamily("virtsnap_domains", "This node's Domains by status.state.", byState));
  families.push_back(gaugeFamily("virtsnap_snapshots",
                                 "Snapshots of this node's Domains by status.phase and location.", byPhase));
  families.push_back(gaugeFamily(
      "virtsnap_snapshot_deletions_blocked",
      "Snapshots being deleted whose deletion the hypervisor's tree blocks, by reason.", blocked));
  families.push_back(gaugeFamily("virtsnap_unmanaged_snapshots",
                                 "Snapshots on this node's domains that no Snapshot object manages.",
                                 {{Labels{}, unmanaged}}));
  return families;
}

}  // namespace virtsnap::agent
