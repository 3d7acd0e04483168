// The agent's RBAC rules (deploy/rbac.yaml: its ClusterRole, and the Role for its Lease) against the
// requests the real agent binary makes, recorded by the API server (apiserver::RequestCounter, by RBAC verb
// and the client's User-Agent): the agent runs through a whole life - start and take the node's Lease, a
// Domain defined, two Snapshots taken, one made with virsh and adopted, a revert, every Snapshot and the
// Domain deleted, SIGTERM and the Lease released - and then every request it made must be allowed by the
// rules, and every rule must have been used (or be justified below). The API server is in this process (its
// counter is read directly) behind its HTTPS front; libvirt is libvirtd's test driver (test+unix:///default),
// whose state this test's own connection keeps alive, so that virsh can make a snapshot behind the agent's
// back, as a user would.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "reconcilers/conditions.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirtd_test_driver.h"
#include "tests/support/shell_command.h"
#include "tests/support/test_driver_domain.h"
#include "tests/support/yaml_files.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using kube::TypedClient;
using namespace std::chrono_literals;

constexpr const char* kLibvirtUri = testsupport::kLibvirtdTestUri;
constexpr const char* kNode = "rbac-node";
constexpr const char* kAgentNamespace = "virtsnap-system";  // --lease-namespace's default
constexpr const char* kAgentUserAgent = "virtsnap-controller";

// What a rule grants, one entry per (group, resource[/subresource], verb).
struct Permission {
  std::string group;
  std::string resource;  // "snapshots" or "snapshots/status"
  std::string verb;

  auto operator<=>(const Permission&) const = default;
};

std::string describe(const Permission& permission) {
  return permission.verb + " " + (permission.group.empty() ? "core" : permission.group) + "/" +
         permission.resource;
}

// The rules of every object of `kind` in `documents`, expanded, with the namespace of the Role ("" for a
// ClusterRole).
std::map<Permission, std::string> expandRules(const std::vector<nlohmann::json>& documents,
                                              const std::string& kind) {
  std::map<Permission, std::string> permissions;
  for (const nlohmann::json& document : documents) {
    if (document.value("kind", "") != kind) {
      continue;
    }
    const std::string ns = document["metadata"].value("namespace", "");
    for (const nlohmann::json& rule : document.value("rules", nlohmann::json::array())) {
      for (const auto& group : rule.value("apiGroups", std::vector<std::string>{})) {
        for (const auto& resource : rule.value("resources", std::vector<std::string>{})) {
          for (const auto& verb : rule.value("verbs", std::vector<std::string>{})) {
            permissions[Permission{group, resource, verb}] = ns;
          }
        }
      }
    }
  }
  return permissions;
}

// Rules the cycle does not exercise, with the reason they are there anyway.
const std::map<Permission, std::string>& justifiedUnused() {
  static const std::map<Permission, std::string> kJustified{
      // ApiEventRecorder::write: an event repeated within the correlator's window bumps the count of the
      // Event
      // already written with a merge patch (client-go's EventRecorder does the same); the cycle repeats none.
      {Permission{"", "events", "patch"}, "a repeated event's count"},
  };
  return kJustified;
}

bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
  return testsupport::eventually(condition, limit, 50ms);
}

class AgentRbac : public ::testing::Test {
 protected:
  void SetUp() override {
    auto observer = testsupport::openLibvirtdTestDriver();
    ASSERT_TRUE(observer.has_value()) << observer.error();
    observer_ = std::move(observer).value();

    const std::string unique = testsupport::uniqueRunToken();
    // libvirtd's test driver is one state for every client of the machine: names of this run's own.
    ns_ = "rbac-" + unique.substr(0, 12);
    domainName_ = ns_ + ".web";
    testsupport::EmbeddedApiServerOptions serverOptions;
    serverOptions.dirPrefix = "virtsnap-rbac";
    serverOptions.token = "rbac-test-token";
    serverOptions.client.qps = 0;
    serverOptions.client.userAgent = "virtsnap-rbac-test";
    serverOptions.namespaces = {ns_, kAgentNamespace};
    auto server = testsupport::EmbeddedApiServer::start(serverOptions);
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
    auto front = testsupport::EmbeddedHttpsServer::start(*server_);
    ASSERT_TRUE(front.has_value()) << front.error();
    front_ = std::move(front).value();
  }

  void TearDown() override {
    if (HasFailure() && agent_) {
      agent_->printOutputTail(std::cerr, 20000);
    }
    agent_.reset();
    front_.reset();
    server_.reset();
    if (observer_) {
      testsupport::removeDomain(*observer_, domainName_);
    }
  }

  bool snapshotReady(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get(ns_, name);
    return got && got->status && got->status->phase == crds::SnapshotPhase::Ready;
  }

  void createSnapshot(const std::string& name) {
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = ns_;
    snapshot.spec.domainName = "web";
    auto created = TypedClient<crds::Snapshot>(server_->client()).create(snapshot);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    ASSERT_TRUE(within(30s, [&] { return snapshotReady(name); }))
        << "Snapshot " << name << " never became Ready";
  }

  // The agent ran in the child process, whose leaks at exit are not this test's (ChildLeakDetectionOff).
  testsupport::ChildLeakDetectionOff leakDetectionOff_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> observer_;
  std::unique_ptr<testsupport::EmbeddedApiServer> server_;
  std::unique_ptr<testsupport::EmbeddedHttpsServer> front_;
  std::unique_ptr<testsupport::AgentProcess> agent_;
  std::string ns_;
  std::string domainName_;
};

TEST_F(AgentRbac, EveryRequestOfACreateRevertDeleteCycleIsAllowedAndEveryRuleIsUsed) {
  const auto started = std::chrono::steady_clock::now();
  const int healthPort = testsupport::freeLoopbackPort();
  agent_ =
      std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, server_->dir() / "agent.log");
  ASSERT_TRUE(agent_->start(
      {"--kubeconfig", front_->kubeconfig().string(), "--node-name", kNode, "--libvirt-uri", kLibvirtUri,
       "--identity", "rbac-agent", "--metrics-bind-address", "0", "--health-probe-bind-address",
       "127.0.0.1:" + std::to_string(healthPort), "--poll-period", "0.5", "--workers", "2"}));
  ASSERT_TRUE(within(30s, [&] { return testsupport::httpGet(healthPort, "/readyz").status == 200; }))
      << "the agent never became ready";

  // A Domain that adopts what virsh makes.
  crds::Domain web = testsupport::testDriverDomain(ns_, "web", kNode);
  web.spec.unmanagedSnapshots = crds::UnmanagedSnapshotPolicy::Adopt;
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(web).has_value());
  ASSERT_TRUE(within(30s, [&] {
    auto got = TypedClient<crds::Domain>(server_->client()).get(ns_, "web");
    return got && got->status && reconcilers::isConditionTrue(got->status->conditions, "Ready");
  })) << "the Domain never became Ready";

  createSnapshot("one");
  createSnapshot("two");
  // A snapshot made behind the agent's back: the agent creates its Snapshot object.
  auto made = testsupport::runShell(std::string("virsh -q -c ") + kLibvirtUri + " snapshot-create-as " +
                                    domainName_ + " manual 2>&1");
  ASSERT_EQ(made.exitCode, 0) << made.output;
  ASSERT_TRUE(within(30s, [&] { return snapshotReady("manual"); })) << "the virsh snapshot was not adopted";

  crds::SnapshotRevert revert;
  revert.metadata.name = "back-to-one";
  revert.metadata.namespaceName = ns_;
  revert.spec.domainName = "web";
  revert.spec.snapshotName = "one";
  ASSERT_TRUE(TypedClient<crds::SnapshotRevert>(server_->client()).create(revert).has_value());
  ASSERT_TRUE(within(30s, [&] {
    auto got = TypedClient<crds::SnapshotRevert>(server_->client()).get(ns_, "back-to-one");
    return got && got->status && got->status->phase == crds::RevertPhase::Succeeded;
  })) << "the revert never succeeded";

  // Leaves first (manual is two's child), then the Domain.
  TypedClient<crds::Snapshot> snapshots(server_->client());
  for (const char* name : {"manual", "two", "one"}) {
    ASSERT_TRUE(snapshots.remove(ns_, name).has_value());
    ASSERT_TRUE(within(30s,
                       [&] {
                         auto got = snapshots.get(ns_, name);
                         return !got && got.error().kind == kube::ErrorKind::NotFound;
                       }))
        << "Snapshot " << name << " kept its finalizer";
  }
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).remove(ns_, "web").has_value());
  ASSERT_TRUE(within(30s, [&] {
    auto got = TypedClient<crds::Domain>(server_->client()).get(ns_, "web");
    return !got && got.error().kind == kube::ErrorKind::NotFound;
  })) << "the Domain kept its finalizer";
  EXPECT_EQ(agent_->stop(30s), 0) << "SIGTERM: the agent did not exit cleanly";

  // The rules, and the agent's requests.
  const auto documents = testsupport::loadYamlDocuments(testsupport::sourcePath("deploy/rbac.yaml"));
  const auto clusterRules = expandRules(documents, "ClusterRole");
  const auto roleRules = expandRules(documents, "Role");
  ASSERT_FALSE(clusterRules.empty());
  std::map<Permission, std::uint64_t> used;
  std::set<std::string> denied;
  std::string table;
  for (const auto& [key, count] : server_->handler().requests().counts()) {
    if (key.userAgent != kAgentUserAgent) {
      continue;
    }
    const Permission permission{
        key.group, key.resource + (key.subresource.empty() ? "" : "/" + key.subresource), key.verb};
    table += "  " + describe(permission) + (key.ns.empty() ? "" : " in " + key.ns) + ": " +
             std::to_string(count) + "\n";
    used[permission] += count;
    const bool byClusterRole = clusterRules.count(permission) != 0;
    const auto role = roleRules.find(permission);
    const bool byRole = role != roleRules.end() && role->second == key.ns;
    if (!byClusterRole && !byRole) {
      denied.insert(describe(permission) + (key.ns.empty() ? " (cluster-wide)" : " in namespace " + key.ns));
    }
  }
  std::cout << "the agent's requests over the cycle (" << kAgentUserAgent << "), by verb and resource:\n"
            << table;
  ASSERT_FALSE(used.empty()) << "no request of the agent was recorded";
  for (const std::string& request : denied) {
    ADD_FAILURE() << "the agent made " << request << ", which deploy/rbac.yaml does not allow";
  }
  for (const auto* rules : {&clusterRules, &roleRules}) {
    for (const auto& [permission, ns] : *rules) {
      if (used.count(permission) == 0 && justifiedUnused().count(permission) == 0) {
        ADD_FAILURE() << "deploy/rbac.yaml allows " << describe(permission)
                      << ", which the agent never used: remove it, or justify it in justifiedUnused()";
      }
    }
  }
  std::cout << "cycle and checks took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     started)
                   .count()
            << " ms" << std::endl;
}

}  // namespace
}  // namespace virtsnap
