// Two agents on one node (as during a DaemonSet rollout), both the real binary, against the API server
// binary: only the one holding the node's Lease is ready and reconciles; the other waits. A holder
// stopped with SIGTERM releases the Lease and exits 0, and the other takes over at once; a holder
// SIGKILLed is replaced after the lease duration (short here, through the --leader-elect-* flags).
// Each agent has its own libvirt (test:///default in its process): a successor defines the domain
// again and redefines its tree from the Snapshots' status, as after any restart.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/eventually.h"
#include "tests/support/test_driver_domain.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using kube::TypedClient;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kNode = "lease-node";
constexpr auto kLeaseDuration = 4s;  // --leader-elect-lease-duration; renew deadline 3 s, retry 0.5 s

// Polls `condition` every 20 ms (each poll runs curl or an API call) until it holds or `limit` passes.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
  return testsupport::eventually(condition, limit, 20ms);
}

// One agent process with its probe ports.
struct Agent {
  std::string identity;
  std::unique_ptr<testsupport::AgentProcess> process;
  int healthPort = 0;
  int metricsPort = 0;

  int readyz() const { return testsupport::httpGet(healthPort, "/readyz").status; }
  int healthz() const { return testsupport::httpGet(healthPort, "/healthz").status; }
  // Reconciles done so far, over every controller (controller_runtime_reconcile_total); -1 when the
  // metrics do not answer.
  double reconciles() const {
    auto answer = testsupport::httpGet(metricsPort, "/metrics");
    if (answer.status != 200) {
      return -1;
    }
    double total = 0;
    std::istringstream lines(answer.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("controller_runtime_reconcile_total{")) {
        total += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }
};

class NodeLease : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ =
        fs::temp_directory_path() / ("virtsnap-lease-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
    auto server = testsupport::ApiServerProcess::start(dir_, {"vms", "virtsnap-system"});
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    for (Agent* agent : {&a_, &b_}) {
      if (agent->process && HasFailure()) {
        std::cerr << "--- agent " << agent->identity << " ---\n" << agent->process->output() << "\n---\n";
      }
      agent->process.reset();
    }
    server_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void start(Agent& agent, const std::string& identity) {
    agent.identity = identity;
    agent.healthPort = testsupport::freeLoopbackPort();
    agent.metricsPort = testsupport::freeLoopbackPort();
    agent.process =
        std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / (identity + ".log"));
    ASSERT_TRUE(agent.process->start({"--kubeconfig",
                                      server_->kubeconfig().string(),
                                      "--node-name",
                                      kNode,
                                      "--identity",
                                      identity,
                                      "--libvirt-uri",
                                      "test:///default",
                                      "--health-probe-bind-address",
                                      "127.0.0.1:" + std::to_string(agent.healthPort),
                                      "--metrics-bind-address",
                                      "127.0.0.1:" + std::to_string(agent.metricsPort),
                                      "--poll-period",
                                      "1",
                                      "--leader-elect-lease-duration",
                                      std::to_string(kLeaseDuration.count()),
                                      "--leader-elect-renew-deadline",
                                      "3",
                                      "--leader-elect-retry-period",
                                      "0.5"}));
    ASSERT_TRUE(within(30s, [&] { return agent.healthz() == 200; }))
        << identity << " does not serve its probes";
  }

  // The holder of the node's Lease ("" when none or released).
  std::string holder() {
    auto lease = server_->client()->get(meta::resources::leases(), "virtsnap-system",
                                        std::string("virtsnap-agent-") + kNode);
    return lease ? lease->value("spec", nlohmann::json::object()).value("holderIdentity", "") : "";
  }

  // Creates Snapshot `name` of Domain web and waits until it is Ready; meanwhile `standby` never is.
  void snapshotWhileStandbyWaits(const std::string& name, const Agent& standby) {
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = "vms";
    snapshot.spec.domainName = "web";
    ASSERT_TRUE(TypedClient<crds::Snapshot>(server_->client()).create(snapshot).has_value());
    bool standbyReady = false;
    ASSERT_TRUE(within(30s,
                       [&] {
                         standbyReady = standbyReady || standby.readyz() == 200;
                         auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
                         return got && got->status && got->status->phase == crds::SnapshotPhase::Ready;
                       }))
        << "Snapshot " << name << " never became Ready";
    EXPECT_FALSE(standbyReady) << standby.identity << " turned ready while the other held the Lease";
    EXPECT_EQ(standby.readyz(), 503);
    EXPECT_EQ(standby.reconciles(), 0) << standby.identity << " reconciled without the Lease";
  }

  // The agents here talk to a separate API server binary: see ChildLeakDetectionOff.
  testsupport::ChildLeakDetectionOff leakDetectionOff_;
  fs::path dir_;
  std::unique_ptr<testsupport::ApiServerProcess> server_;
  Agent a_;
  Agent b_;
};

TEST_F(NodeLease, OneAgentActsTheOtherTakesOverOnSigtermAndAfterSigkill) {
  start(a_, "agent-a");
  start(b_, "agent-b");
  ASSERT_TRUE(within(30s, [&] { return a_.readyz() == 200 || b_.readyz() == 200; }))
      << "neither agent became ready";
  Agent& first = a_.readyz() == 200 ? a_ : b_;
  Agent& second = &first == &a_ ? b_ : a_;
  EXPECT_EQ(holder(), first.identity);

  crds::Domain web = testsupport::testDriverDomain("vms", "web", kNode);
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(web).has_value());
  snapshotWhileStandbyWaits("s1", second);
  EXPECT_GT(first.reconciles(), 0);

  // SIGTERM: the holder finishes, releases the Lease and exits 0; the other takes over well within
  // the lease duration (it need not wait the released Lease out).
  EXPECT_EQ(first.process->stop(30s), 0) << first.process->output();
  const auto released = Clock::now();
  ASSERT_TRUE(within(30s, [&] { return holder() == second.identity; }))
      << "the Lease went to '" << holder() << "'";
  EXPECT_LT(Clock::now() - released, kLeaseDuration) << "the successor waited the Lease out: not released";
  ASSERT_TRUE(within(30s, [&] { return second.readyz() == 200; }));

  // The first comes back, and waits; the second reconciles a new Snapshot (and the first's, again).
  start(first, first.identity);
  snapshotWhileStandbyWaits("s2", first);
  EXPECT_GT(second.reconciles(), 0);

  // SIGKILL: nothing released; the first takes over once the lease duration has passed since the
  // holder's last renewal (renewals come every 0.5 s; 1 s of slack for a late one on a busy machine).
  second.process->kill();
  const auto killed = Clock::now();
  ASSERT_TRUE(within(kLeaseDuration + 20s, [&] { return holder() == first.identity; }))
      << "the Lease went to '" << holder() << "'";
  const auto takeover = Clock::now() - killed;
  EXPECT_GE(takeover, kLeaseDuration - 1s) << "the Lease was taken before it expired";
  ASSERT_TRUE(within(30s, [&] { return first.readyz() == 200; }));
  crds::Snapshot s3;
  s3.metadata.name = "s3";
  s3.metadata.namespaceName = "vms";
  s3.spec.domainName = "web";
  ASSERT_TRUE(TypedClient<crds::Snapshot>(server_->client()).create(s3).has_value());
  ASSERT_TRUE(within(30s, [&] {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", "s3");
    return got && got->status && got->status->phase == crds::SnapshotPhase::Ready;
  }));
  std::cout << "takeover after SIGKILL: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count() << " ms (lease "
            << kLeaseDuration.count() << " s)" << std::endl;
  EXPECT_EQ(first.process->stop(30s), 0) << first.process->output();
}

}  // namespace
}  // namespace virtsnap
