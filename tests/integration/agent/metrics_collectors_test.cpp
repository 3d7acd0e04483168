// The agent's metric definitions on their own, without a process: the object counts follow the caches
// (a removed object leaves them; another node's Snapshots never enter), the REST client counts each
// request by status, method and host (no answer: "<error>"; a watch once), and the event recorder's
// counters are its stats. Fast: no server, no hypervisor.

#include <deque>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "controller/agent/object_count_metrics.h"
#include "controller/kube/event_recorder_metrics.h"
#include "controller/kube/rest_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"

namespace virtsnap {
namespace {

using nlohmann::json;

// The value of the series of `family` with exactly `labels`; nullopt when there is none.
std::optional<double> valueOf(const std::vector<prometheus::MetricFamily>& families,
                              const std::string& family, const std::map<std::string, std::string>& labels) {
  for (const auto& collected : families) {
    if (collected.name != family) {
      continue;
    }
    for (const auto& metric : collected.metric) {
      std::map<std::string, std::string> own;
      for (const auto& label : metric.label) {
        own[label.name] = label.value;
      }
      if (own == labels) {
        switch (collected.type) {
          case prometheus::MetricType::Counter:
            return metric.counter.value;
          case prometheus::MetricType::Gauge:
            return metric.gauge.value;
          case prometheus::MetricType::Histogram:
            return static_cast<double>(metric.histogram.sample_count);
          default:
            return std::nullopt;
        }
      }
    }
  }
  return std::nullopt;
}

kube::ObjectPtr domain(const std::string& name, const std::string& state, json unmanaged = json::array()) {
  return std::make_shared<const json>(
      json{{"apiVersion", "virtsnap.io/v1alpha1"},
           {"kind", "Domain"},
           {"metadata", {{"name", name}, {"namespace", "vms"}}},
           {"status", {{"state", state}, {"unmanagedSnapshots", std::move(unmanaged)}}}});
}

kube::ObjectPtr snapshot(const std::string& name, const std::string& domainName, const std::string& phase,
                         const std::string& location, const std::string& blockedBy = "") {
  json object{{"apiVersion", "virtsnap.io/v1alpha1"},
              {"kind", "Snapshot"},
              {"metadata", {{"name", name}, {"namespace", "vms"}}},
              {"spec", {{"domainName", domainName}}},
              {"status", {{"phase", phase}, {"location", location}}}};
  if (!blockedBy.empty()) {
    object["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
    object["status"]["deletionBlockedReason"] = blockedBy;
    object["status"]["conditions"] = json::array({{{"type", std::string(crds::kConditionDeletionBlocked)},
                                                   {"status", "True"},
                                                   {"reason", blockedBy},
                                                   {"message", "blocked"},
                                                   {"lastTransitionTime", "2026-01-01T00:00:00Z"}}});
  }
  return std::make_shared<const json>(std::move(object));
}

TEST(ObjectCountMetrics, FollowTheCachesAndCountOnlyThisNodesDomains) {
  kube::ObjectCache domains;
  kube::ObjectCache snapshots(agent::snapshotCountIndexers(), kube::CacheStorage::Packed, {},
                              {agent::kSnapshotCountIndex});  // as the agent's
  agent::ObjectCountMetrics counts(domains, snapshots);

  auto families = counts.Collect();
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Running"}}), 0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshots", {{"phase", "Ready"}, {"location", "External"}}), 0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshot_deletions_blocked", {{"reason", "ActiveExternalNotLeaf"}}),
            0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_unmanaged_snapshots", {}), 0.0);

  domains.upsert(domain("web", "Running", json::array({"manual-1", "manual-2"})));
  domains.upsert(domain("db", "Shutoff"));
  snapshots.upsert(snapshot("a", "web", "Ready", "Internal"));
  snapshots.upsert(snapshot("b", "web", "Ready", "External"));
  snapshots.upsert(snapshot("c", "db", "Ready", "External", "ActiveExternalNotLeaf"));
  snapshots.upsert(snapshot("elsewhere", "other-node-domain", "Ready", "Internal"));
  families = counts.Collect();
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Running"}}), 1.0);
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Shutoff"}}), 1.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshots", {{"phase", "Ready"}, {"location", "Internal"}}), 1.0)
      << "the Snapshot of a Domain not in this node's cache is not counted";
  EXPECT_EQ(valueOf(families, "virtsnap_snapshots", {{"phase", "Ready"}, {"location", "External"}}), 2.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshot_deletions_blocked", {{"reason", "ActiveExternalNotLeaf"}}),
            1.0);
  EXPECT_EQ(valueOf(families, "virtsnap_unmanaged_snapshots", {}), 2.0);

  // Deleted objects leave every count; a changed one moves between series.
  snapshots.erase("vms/c");
  snapshots.upsert(snapshot("b", "web", "Deleting", "External"));
  domains.erase("vms/db");
  domains.upsert(domain("web", "Paused"));
  families = counts.Collect();
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Running"}}), 0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Shutoff"}}), 0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_domains", {{"state", "Paused"}}), 1.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshots", {{"phase", "Ready"}, {"location", "External"}}), 0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshots", {{"phase", "Deleting"}, {"location", "External"}}), 1.0);
  EXPECT_EQ(valueOf(families, "virtsnap_snapshot_deletions_blocked", {{"reason", "ActiveExternalNotLeaf"}}),
            0.0);
  EXPECT_EQ(valueOf(families, "virtsnap_unmanaged_snapshots", {}), 0.0);
}

class ScriptedTransport final : public kube::Transport {
 public:
  kube::KubeResult<kube::RestResponse> send(const kube::RestRequest&) override {
    kube::KubeResult<kube::RestResponse> answer = answers.front();
    answers.pop_front();
    return answer;
  }
  kube::KubeResult<kube::LineStreamPtr> stream(const kube::RestRequest&) override {
    kube::KubeError refused;
    refused.kind = kube::ErrorKind::Forbidden;
    refused.httpStatus = 403;
    return refused;
  }
  std::deque<kube::KubeResult<kube::RestResponse>> answers;
};

TEST(RestClientMetrics, CountEveryRequestByStatusMethodAndHost) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto transport = std::make_shared<ScriptedTransport>();
  kube::KubeError unreachable;
  unreachable.kind = kube::ErrorKind::Network;
  transport->answers = {kube::RestResponse{200, "{}", {}}, kube::RestResponse{200, "{}", {}},
                        kube::RestResponse{404, R"({"kind":"Status","reason":"NotFound"})", {}}, unreachable};
  kube::RestClientOptions options;
  options.qps = 0;
  options.metrics = std::make_shared<kube::RestClientMetrics>(registry, "api.example:6443");
  kube::RestClient client(transport, options);
  const auto type = meta::Resource<crds::Domain>::type();
  EXPECT_TRUE(client.get(type, "vms", "web"));
  EXPECT_TRUE(client.get(type, "vms", "db"));
  EXPECT_FALSE(client.get(type, "vms", "gone"));
  EXPECT_FALSE(client.remove(type, "vms", "web", {}));
  EXPECT_FALSE(client.watch(type, "vms", {}));

  const auto families = registry->Collect();
  const std::string host = "api.example:6443";
  EXPECT_EQ(
      valueOf(families, "rest_client_requests_total", {{"code", "200"}, {"method", "GET"}, {"host", host}}),
      2.0);
  EXPECT_EQ(
      valueOf(families, "rest_client_requests_total", {{"code", "404"}, {"method", "GET"}, {"host", host}}),
      1.0);
  EXPECT_EQ(valueOf(families, "rest_client_requests_total",
                    {{"code", "<error>"}, {"method", "DELETE"}, {"host", host}}),
            1.0);
  EXPECT_EQ(
      valueOf(families, "rest_client_requests_total", {{"code", "403"}, {"method", "GET"}, {"host", host}}),
      1.0)
      << "the refused watch";
  EXPECT_EQ(valueOf(families, "rest_client_request_duration_seconds", {{"verb", "GET"}, {"host", host}}),
            4.0);
  EXPECT_EQ(valueOf(families, "rest_client_request_duration_seconds", {{"verb", "DELETE"}, {"host", host}}),
            1.0);
}

TEST(EventRecorderMetrics, AreTheRecordersStatsAtEachCollect) {
  kube::EventRecorderStats stats;
  kube::EventRecorderMetrics metrics([&stats] { return stats; });
  EXPECT_EQ(valueOf(metrics.Collect(), "event_recorder_events_dropped_total", {}), 0.0);
  stats.dropped = 4;
  stats.created = 7;
  stats.patched = 2;
  const auto families = metrics.Collect();
  EXPECT_EQ(valueOf(families, "event_recorder_events_dropped_total", {}), 4.0);
  EXPECT_EQ(valueOf(families, "event_recorder_events_total", {{"outcome", "dropped"}}), 4.0);
  EXPECT_EQ(valueOf(families, "event_recorder_events_total", {{"outcome", "created"}}), 7.0);
  EXPECT_EQ(valueOf(families, "event_recorder_events_total", {{"outcome", "patched"}}), 2.0);
  EXPECT_EQ(valueOf(families, "event_recorder_events_total", {{"outcome", "rejected"}}), 0.0);
}

}  // namespace
}  // namespace virtsnap
