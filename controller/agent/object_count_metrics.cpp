#include "controller/agent/object_count_metrics.h"

#include <map>
#include <set>
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

// The fields of a kSnapshotCountIndex value.
struct CountLabels {
  std::string domainKey;
  std::string phase;
  std::string location;
  std::string blockedReason;  // empty: not a blocked deletion
};

CountLabels parseCountLabels(const std::string& value) {
  CountLabels labels;
  std::string* fields[] = {&labels.domainKey, &labels.phase, &labels.location, &labels.blockedReason};
  std::size_t start = 0;
  for (std::string* field : fields) {
    const std::size_t end = value.find('\n', start);
    *field = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return labels;
}

}  // namespace

kube::Indexers snapshotCountIndexers() {
  return {{kSnapshotCountIndex, [](const nlohmann::json& snapshot) -> std::vector<std::string> {
             const std::string domainKey = reconcilers::domainKeyOf(snapshot);
             if (domainKey.empty()) {
               return {};
             }
             std::string phase = stringAt(snapshot, "status", "phase");
             std::string location = stringAt(snapshot, "status", "location");
             if (location.empty()) {
               location = stringAt(snapshot, "spec", "location");
             }
             std::string blockedReason;
             if (beingDeleted(snapshot) && conditionTrue(snapshot, crds::kConditionDeletionBlocked)) {
               blockedReason = stringAt(snapshot, "status", "deletionBlockedReason");
               if (blockedReason.empty()) {
                 blockedReason = "Unknown";
               }
             }
             return {domainKey + "\n" + (phase.empty() ? "Pending" : phase) + "\n" +
                     (location.empty() ? "Unknown" : location) + "\n" + blockedReason};
           }}};
}

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
  std::set<std::string, std::less<>> domainKeys;
  for (std::string& key : domains_.keys()) {
    domainKeys.insert(std::move(key));
  }
  for (const std::string& value : snapshots_.indexValues(kSnapshotCountIndex)) {
    const CountLabels labels = parseCountLabels(value);
    if (!domainKeys.contains(labels.domainKey)) {
      continue;  // another node's domain, or one not (yet) in the cache
    }
    const auto count = static_cast<double>(snapshots_.countByIndex(kSnapshotCountIndex, value));
    byPhase[{{"phase", labels.phase}, {"location", labels.location}}] += count;
    if (!labels.blockedReason.empty()) {
      blocked[{{"reason", labels.blockedReason}}] += count;
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
