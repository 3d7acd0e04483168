// The real API server (virtsnap-apiserver) SIGKILLed and started again on its data directory, three times,
// while the real agent binary takes and deletes snapshots: every object and resourceVersion the server
// acknowledged survives, the versions it hands out afterwards are newer than any before (nothing reused
// or reordered), the agent's watches resume (or relist on 410) without a restart of the agent, and
// everything converges: each Snapshot Ready or gone, the Domain's status tree equal to libvirt's, the
// Snapshot objects equal to libvirt's snapshots, one "Created" Event at most each, and the agent's
// requests bounded (counted on its own /metrics).
//
// The restarted server keeps its port, token and TLS material (credentials.json in the data directory),
// as a real API server restarted on its certificates does: the agent keeps its kubeconfig. libvirt is
// libvirtd's test driver, as in crash_recovery_test.cpp, so the test reads it on a connection of its own.
// Seeded (where the kills land); the seed is printed on failure, VIRTSNAP_SEED=<n> replays it.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/event_counts.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirt_snapshots.h"
#include "tests/support/libvirtd_agent_test.h"
#include "tests/support/libvirtd_test_driver.h"
#include "tests/support/test_driver_domain.h"
#include "tests/support/tree_lines.h"

namespace virtsnap {
namespace {

using kube::TypedClient;
using namespace std::chrono_literals;

constexpr const char* kNode = "restart-node";
constexpr const char* kLibvirtUri = testsupport::kLibvirtdTestUri;
constexpr int kRestarts = 3;

using testsupport::joined;
using testsupport::treeLines;

std::uint64_t versionOf(const meta::ObjectMeta& metadata) {
  return std::strtoull(metadata.resourceVersion.value_or("0").c_str(), nullptr, 10);
}

class AgentApiServerRestart : public testsupport::LibvirtdAgentTest {
 protected:
  void SetUp() override {
    setUpStart_ = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(setUpRun("restart"));
    auto server =
        testsupport::ApiServerProcess::start(dir_, {ns_, "virtsnap-system"}, testsupport::freeLoopbackPort());
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    reportFailure(20000);
    agent_.reset();
    server_.reset();
    removeRun();
  }

  void startAgent() {
    agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / "agent.log");
    healthPort_ = testsupport::freeLoopbackPort();
    metricsPort_ = testsupport::freeLoopbackPort();
    ASSERT_TRUE(
        agent_->start({"--kubeconfig", server_->kubeconfig().string(), "--node-name", kNode, "--libvirt-uri",
                       kLibvirtUri, "--identity", "restart-agent", "--metrics-bind-address",
                       "127.0.0.1:" + std::to_string(metricsPort_), "--health-probe-bind-address",
                       "127.0.0.1:" + std::to_string(healthPort_), "--poll-period", "1", "--workers", "2"}));
    ASSERT_NO_FATAL_FAILURE(waitReady());
  }

  // The agent's requests so far, by its own count (rest_client_requests_total, every answer and none).
  long agentRequests() {
    const auto answer = testsupport::httpGet(metricsPort_, "/metrics");
    std::istringstream lines(answer.body);
    long total = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("rest_client_requests_total{", 0) == 0) {
        total += std::atol(line.substr(line.rfind(' ') + 1).c_str());
      }
    }
    return total;
  }

  // Empty once every kept Snapshot is Ready, every deleted one gone, and the Domain's status tree, the
  // Snapshot objects and libvirt agree; else the first thing that does not.
  std::string disagreement(const std::set<std::string>& kept) {
    auto inLibvirt = testsupport::readLibvirtSnapshots(*observer_, domainName_);
    if (!inLibvirt) {
      return inLibvirt.error();
    }
    const drivers::SnapshotTree& tree = inLibvirt->tree;
    auto objects = TypedClient<crds::Snapshot>(server_->client()).list(ns_);
    if (!objects) {
      return objects.error().message;
    }
    std::set<std::string> named;
    for (const auto& object : objects->items) {
      const std::string name = object.metadata.name.value_or("");
      named.insert(name);
      if (!object.status || object.status->phase != crds::SnapshotPhase::Ready) {
        return "Snapshot " + name + " is not Ready";
      }
    }
    if (named != kept) {
      return "Snapshot objects " + joined(std::vector<std::string>(named.begin(), named.end())) +
             "!= the ones kept " + joined(std::vector<std::string>(kept.begin(), kept.end()));
    }
    if (named != inLibvirt->names) {
      return "Snapshot objects " + joined(std::vector<std::string>(named.begin(), named.end())) +
             "!= libvirt's snapshots " +
             joined(std::vector<std::string>(inLibvirt->names.begin(), inLibvirt->names.end()));
    }
    auto web = TypedClient<crds::Domain>(server_->client()).get(ns_, "web");
    if (!web || !web->status) {
      return "no status on Domain web";
    }
    if (treeLines(*web->status) != treeLines(tree)) {
      return "web's status tree " + joined(treeLines(*web->status)) + "!= libvirt's " +
             joined(treeLines(tree));
    }
    return {};
  }

  int metricsPort_ = 0;
  std::chrono::steady_clock::time_point setUpStart_;
};

TEST_F(AgentApiServerRestart, TheStoreSurvivesAndTheAgentConverges) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (VIRTSNAP_SEED)");
  const auto agentStart = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(startAgent());
  const auto start = std::chrono::steady_clock::now();
  const long before = agentRequests();
  crds::Domain web = testsupport::testDriverDomain(ns_, "web", kNode);
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(web).has_value());

  TypedClient<crds::Snapshot> snapshots(server_->client());
  std::set<std::string> created;
  std::set<std::string> kept;
  int operations = 1;
  std::vector<std::chrono::milliseconds> restartTimes;  // from the kill to the first answer
  for (int round = 0; round < kRestarts; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Four Snapshots (and, after the first round, two deletions), then the kill while the agent works on
    // them: a seeded 0-40 ms later (each takes a few ms).
    for (int i = 0; i < 4; ++i) {
      const std::string name = "s" + std::to_string(round) + "-" + std::to_string(i);
      auto made = snapshots.create(newSnapshot(name));
      ASSERT_TRUE(made.has_value()) << made.error().message;
      created.insert(name);
      kept.insert(name);
      ++operations;
    }
    if (round > 0) {
      for (int i : {1, 3}) {
        const std::string name = "s" + std::to_string(round - 1) + "-" + std::to_string(i);
        ASSERT_TRUE(snapshots.remove(ns_, name).has_value());
        kept.erase(name);
        ++operations;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random_() % 41));  // where the kill lands

    // What the server acknowledged just before its death (the agent may write more until the kill).
    auto seen = snapshots.list(ns_);
    ASSERT_TRUE(seen.has_value()) << seen.error().message;
    std::map<std::string, std::uint64_t> versions;
    std::uint64_t newest = std::strtoull(seen->resourceVersion.c_str(), nullptr, 10);
    for (const auto& object : seen->items) {
      versions[object.metadata.name.value_or("")] = versionOf(object.metadata);
    }
    const auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(server_->restart()) << "the API server did not come back:\n" << server_->output();
    restartTimes.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed));

    // Everything acknowledged is there, unchanged or newer (the agent may have written since the list;
    // a deletion in flight may have completed), and the next version handed out is newer than all.
    auto after = snapshots.list(ns_);
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_GE(std::strtoull(after->resourceVersion.c_str(), nullptr, 10), newest);
    std::map<std::string, std::uint64_t> survived;
    for (const auto& object : after->items) {
      survived[object.metadata.name.value_or("")] = versionOf(object.metadata);
    }
    for (const auto& [name, version] : versions) {
      if (!survived.contains(name)) {
        EXPECT_FALSE(kept.contains(name)) << name << " (version " << version << ") was lost by the restart";
        continue;
      }
      EXPECT_GE(survived[name], version) << name << " went back in time";
    }
    // A write of the test's own (one store, one sequence of versions for every kind).
    nlohmann::json probe = {{"apiVersion", "v1"},
                            {"kind", "Namespace"},
                            {"metadata", {{"name", ns_ + "-probe" + std::to_string(round)}}}};
    auto written = server_->client()->create(meta::resources::namespaces(), probe, {});
    ASSERT_TRUE(written.has_value()) << written.error().message;
    const std::uint64_t next =
        std::strtoull(written->at("metadata").value("resourceVersion", "0").c_str(), nullptr, 10);
    for (const auto& [name, version] : survived) {
      EXPECT_GT(next, version) << "the restarted store handed out a version not newer than " << name << "'s";
    }
  }
  const auto lastRestart = std::chrono::steady_clock::now();

  std::string last;
  ASSERT_TRUE(within(60s, [&] {
    last = disagreement(kept);
    return last.empty();
  })) << last;
  const auto converged = std::chrono::steady_clock::now();
  const long used = agentRequests() - before;

  for (const std::string& name : created) {
    EXPECT_LE(testsupport::eventCount(*server_->client(), ns_, name, "Created"), 1)
        << name << " was taken more than once";
  }
  // Fault-free the work costs about 4 requests per operation; each restart costs the three informers'
  // watches and relists, the retries of what was in flight and the Lease's: 40 at most; the Lease's
  // renewals, 1 a second. A hot loop against a server that is down or back makes thousands.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(converged - start).count() + 1;
  const long bound = 8 * operations + 40 * kRestarts + seconds;
  EXPECT_LE(used, bound);

  const long settled = agentRequests();
  std::this_thread::sleep_for(3s);  // a window of time measured, nothing awaited
  const long quiet = agentRequests() - settled;
  EXPECT_LE(quiet, 12) << "the agent kept sending requests after it converged";

  using Ms = std::chrono::milliseconds;
  std::cout << "[restart] " << kRestarts << " API server restarts, " << operations << " operations: " << used
            << " agent requests (bound " << bound << "), converged "
            << std::chrono::duration_cast<Ms>(converged - lastRestart).count()
            << " ms after the last restart, " << quiet << " requests in 3 s after; each restart took";
  for (const auto& taken : restartTimes) {
    std::cout << " " << taken.count() << " ms";
  }
  std::cout << "; " << std::chrono::duration_cast<Ms>(converged - start).count() << " ms in all (set-up "
            << std::chrono::duration_cast<Ms>(agentStart - setUpStart_).count() << " ms, the agent ready in "
            << std::chrono::duration_cast<Ms>(start - agentStart).count() << " ms)" << std::endl;
}

}  // namespace
}  // namespace virtsnap
