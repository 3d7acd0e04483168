// The per-node Lease and the event recorder over real HTTPS: the embedded API server behind its
// HttpServer (self-signed TLS, bearer token) and the agent's HttpTransport + RestClient. Waits run on a
// fake clock, so the scenario is exact while every request crosses a socket.

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/kube/event_recorder_api.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/lease.h"
#include "controller/kube/token_source.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using nlohmann::json;
using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;
using testsupport::EmbeddedHttpsServer;
using testsupport::eventually;
using namespace std::chrono_literals;

constexpr const char* kAgentNamespace = "virtsnap-system";
// The product names its per-node Lease; the runtime takes the name as given.
constexpr const char* kLeaseName = "virtsnap-agent-node-1";

class LeaseEventsOverHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-lease-events";
    options.token = apiserver::randomToken();
    options.durable = true;
    options.namespaces = {kAgentNamespace, "vms"};
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    auto front = EmbeddedHttpsServer::start(*api_);
    ASSERT_TRUE(front.has_value()) << front.error();
    https_ = std::move(front).value();

    RestClientOptions clientOptions;
    clientOptions.qps = 0;  // no limiter: only the test moves the fake clock
    clientOptions.timeout = 10s;
    auto client = makeHttpApiClient(https_->clusterConfig(), clientOptions);
    ASSERT_TRUE(client.has_value()) << client.error().describe();
    client_ = client.value();
  }

  void TearDown() override {
    electors_.clear();
    recorder_.reset();
    client_.reset();
    https_.reset();
    api_.reset();
  }

  LeaderElector& elector(const std::string& identity) {
    LeaderElectionConfig config{.ns = kAgentNamespace, .name = kLeaseName, .identity = identity};
    electors_.push_back(std::make_unique<LeaderElector>(client_, config, LeaderCallbacks{}, clock_, nullptr,
                                                        seededRandom(3)));
    return *electors_.back();
  }

  // Moves the clock and waits until each elector has done at least one more round and `parked` threads
  // wait on the clock again.
  void advance(std::chrono::nanoseconds by, const std::vector<LeaderElector*>& electors, int parked) {
    std::vector<std::uint64_t> before;
    for (LeaderElector* e : electors) {
      before.push_back(e->rounds());
    }
    clock_->advance(by);
    ASSERT_TRUE(eventually([&] {
      for (std::size_t i = 0; i < electors.size(); ++i) {
        if (electors[i]->rounds() <= before[i]) {
          return false;
        }
      }
      return clock_->waiting() == parked;
    }));
  }

  json lease() {
    auto got = client_->get(meta::resources::leases(), kAgentNamespace, kLeaseName);
    EXPECT_TRUE(got.has_value()) << got.error().describe();
    return got.has_value() ? got.value() : json::object();
  }

  std::vector<json> events() {
    auto listed = client_->list(meta::resources::events(), "vms", ListOptions{});
    EXPECT_TRUE(listed.has_value()) << listed.error().describe();
    return listed.has_value() ? listed.value()["items"].get<std::vector<json>>() : std::vector<json>{};
  }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::unique_ptr<EmbeddedHttpsServer> https_;
  ApiClientPtr client_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::vector<std::unique_ptr<LeaderElector>> electors_;
  std::unique_ptr<ApiEventRecorder> recorder_;
};

TEST_F(LeaseEventsOverHttps, TwoAgentsOnOneNodeTakeTurnsOnTheLease) {
  LeaderElector& a = elector("agent-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));
  LeaderElector& b = elector("agent-b");
  b.start();
  ASSERT_TRUE(eventually([&] { return b.rounds() == 1 && clock_->waiting() == 2; }));
  EXPECT_EQ(b.leader(), "agent-a");

  for (int i = 0; i < 6; ++i) {  // 30 s, twice the lease duration
    advance(5s, {&a, &b}, 2);
    ASSERT_TRUE(a.isLeader());
    ASSERT_FALSE(b.isLeader());
  }
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "agent-a");

  a.stop();  // releases the Lease
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "");
  advance(5s, {&b}, 1);
  EXPECT_TRUE(b.isLeader());
  json spec = lease()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "agent-b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
}

TEST_F(LeaseEventsOverHttps, RecordedEventsAreListedWithTheirCounts) {
  ApiEventRecorderOptions options;
  options.host = "node-1";
  recorder_ = std::make_unique<ApiEventRecorder>(client_, options, clock_, nullptr, seededRandom(5));
  const json domain{{"apiVersion", "virtsnap.io/v1alpha1"},
                    {"kind", "Domain"},
                    {"metadata", {{"name", "vm-1"}, {"namespace", "vms"}, {"uid", "u-1"}}}};
  for (int i = 0; i < 3; ++i) {
    recorder_->event(domain, EventType::Warning, "SnapshotFailed", "disk busy");
  }
  recorder_->event(domain, EventType::Normal, "SnapshotCreated", "s1 created");
  ASSERT_TRUE(recorder_->flush(20s));

  std::vector<json> listed = events();
  ASSERT_EQ(listed.size(), 2u);
  std::sort(listed.begin(), listed.end(),
            [](const json& x, const json& y) { return x["reason"].get<std::string>() < y["reason"]; });
  EXPECT_EQ(listed[0]["reason"], "SnapshotCreated");
  EXPECT_EQ(listed[0]["count"], 1);
  EXPECT_EQ(listed[1]["reason"], "SnapshotFailed");
  EXPECT_EQ(listed[1]["count"], 3);
  EXPECT_EQ(listed[1]["source"]["host"], "node-1");
  EXPECT_EQ(listed[1]["involvedObject"]["uid"], "u-1");
}

TEST_F(LeaseEventsOverHttps, AnEventOutlastsAShortServerOutage) {
  api_->handler().faults().add(apiserver::Fault{
      .method = "POST", .pathPrefix = "/api/v1/namespaces/vms/events", .status = 503, .times = 2});
  ApiEventRecorderOptions options;
  options.host = "node-1";
  recorder_ = std::make_unique<ApiEventRecorder>(client_, options, clock_, nullptr, seededRandom(5));
  ObjectReference domain;
  domain.apiVersion = "virtsnap.io/v1alpha1";
  domain.kind = "Domain";
  domain.ns = "vms";
  domain.name = "vm-1";
  recorder_->event(domain, EventType::Normal, "Synced", "ok");
  for (int attempts = 1; attempts <= 2; ++attempts) {
    ASSERT_TRUE(eventually(
        [&] { return api_->handler().faults().injected() == attempts && clock_->waiting() == 1; }));
    clock_->advance(2s);  // past the retry delay (at most 1 s, then 1 s)
  }
  ASSERT_TRUE(eventually([&] { return recorder_->stats().created == 1; }));
  EXPECT_EQ(recorder_->stats().retries, 2u);
  EXPECT_EQ(events().size(), 1u);
}

}  // namespace
}  // namespace virtsnap::kube
