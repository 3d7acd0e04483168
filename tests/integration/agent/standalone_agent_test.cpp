// The real virtsnap-controller binary in standalone mode (embedded API server, libvirt's test driver)
// driven by the real /usr/bin/kubectl, as a user would: apply Domains, Snapshots and
// SnapshotReverts, wait for Ready, and read the tree back from status; stop the agent and start it
// again on the same data directory, and the domain and its tree come back.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kNode = "test-node";

std::string domainYaml(const std::string& name) {
  return "apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: " + name +
         "\n  namespace: vms\nspec:\n  nodeName: " + kNode +
         "\n  type: test\n  vcpus: 1\n  memory: 64Mi\n  os:\n    arch: i686\n"
         "  disks:\n    - name: vda\n      create:\n        size: 1Gi\n";
}

std::string snapshotYaml(const std::string& name, const std::string& domain) {
  return "apiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: " + name +
         "\n  namespace: vms\nspec:\n  domainName: " + domain + "\n";
}

std::string revertYaml(const std::string& name, const std::string& domain, const std::string& snapshot) {
  return "apiVersion: virtsnap.io/v1alpha1\nkind: SnapshotRevert\nmetadata:\n  name: " + name +
         "\n  namespace: vms\nspec:\n  domainName: " + domain + "\n  snapshotName: " + snapshot + "\n";
}

class StandaloneAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ =
        fs::temp_directory_path() / ("virtsnap-agent-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
  }

  void TearDown() override {
    if (agent_) {
      if (HasFailure()) {
        std::cerr << "--- agent output ---\n" << agent_->output() << "\n---\n";
      }
      agent_->kill();
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void startAgent() {
    agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / "agent.log");
    fs::remove(dir_ / "data" / "kubeconfig");
    ASSERT_TRUE(agent_->start({"--standalone", "--data-dir", (dir_ / "data").string(), "--crd-dir",
                               std::string(VIRTSNAP_SOURCE_DIR) + "/crds", "--node-name", kNode,
                               "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
                               "--poll-period", "1"}));
    ASSERT_TRUE(testsupport::eventually([&] { return fs::exists(dir_ / "data" / "kubeconfig"); }))
        << agent_->output();
    ASSERT_TRUE(testsupport::eventually([&] { return kubectl("get namespaces").exitCode == 0; }))
        << agent_->output();
  }

  testsupport::ShellResult kubectl(const std::string& args, const std::string& input = "") {
    const fs::path stdinFile = dir_ / "stdin.yaml";
    std::ofstream(stdinFile) << input;
    return testsupport::runShell("kubectl --kubeconfig " + (dir_ / "data" / "kubeconfig").string() +
                                 " --cache-dir " + (dir_ / "cache").string() + " " + args + " < " +
                                 stdinFile.string() + " 2>&1");
  }

  void apply(const std::string& yaml) {
    auto run = kubectl("apply -f -", yaml);
    ASSERT_EQ(run.exitCode, 0) << run.output;
  }

  void waitReady(const std::string& what) {
    auto run = kubectl("wait --for=condition=Ready --timeout=60s -n vms " + what);
    ASSERT_EQ(run.exitCode, 0) << run.output << "\n" << kubectl("get -n vms " + what + " -o yaml").output;
  }

  json get(const std::string& what) {
    auto run = kubectl("get -n vms -o json " + what);
    EXPECT_EQ(run.exitCode, 0) << run.output;
    return run.exitCode == 0 ? json::parse(run.output) : json();
  }

  // The Domain's status.snapshotTree as "name<parent>[*]" lines, current marked with '*'.
  std::vector<std::string> tree(const std::string& domain) {
    std::vector<std::string> lines;
    for (const auto& entry : get("domain/" + domain)["status"].value("snapshotTree", json::array())) {
      lines.push_back(entry.value("name", "") + "<" + entry.value("parent", "") + ">" +
                      (entry.value("current", false) ? "*" : ""));
    }
    return lines;
  }

  fs::path dir_;
  std::unique_ptr<testsupport::AgentProcess> agent_;
};

TEST_F(StandaloneAgent, SnapshotsRevertsAndBranchesShowInEveryStatus) {
  startAgent();
  apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vms\n");
  apply(domainYaml("web"));
  waitReady("domain/web");
  EXPECT_EQ(get("domain/web")["status"]["state"], "Running");
  EXPECT_EQ(get("domain/web")["status"]["hypervisor"]["name"], "vms.web");

  apply(snapshotYaml("s1", "web") + "---\n" + snapshotYaml("s2", "web") + "---\n" +
        snapshotYaml("s3", "web"));
  waitReady("snapshot/s1 snapshot/s2 snapshot/s3");
  ASSERT_TRUE(testsupport::eventually([&] { return tree("web").size() == 3; }));
  EXPECT_THAT(tree("web"), ElementsAre("s1<>", "s2<s1>", "s3<s2>*"));
  json s2 = get("snapshot/s2");
  EXPECT_EQ(s2["status"]["phase"], "Ready");
  EXPECT_EQ(s2["status"]["parent"], "s1");
  EXPECT_EQ(s2["status"]["children"], json::array({"s3"}));
  EXPECT_EQ(s2["status"]["depth"], 1);
  EXPECT_THAT(s2["status"].value("definition", ""), HasSubstr("<name>s2</name>"));

  // A revert to a non-leaf snapshot, then a new snapshot: a branch below s1.
  apply(revertYaml("back-to-s1", "web", "s1"));
  auto reverted =
      kubectl("wait --for=jsonpath={.status.phase}=Succeeded --timeout=60s -n vms snapshotrevert/back-to-s1");
  ASSERT_EQ(reverted.exitCode, 0) << reverted.output << kubectl("get -n vms snapshotrevert -o yaml").output;
  EXPECT_EQ(get("snapshotrevert/back-to-s1")["status"]["previousSnapshot"], "s3");
  apply(snapshotYaml("s4", "web"));
  waitReady("snapshot/s4");
  ASSERT_TRUE(testsupport::eventually([&] {
    return tree("web").size() == 4 && tree("web").back() == "s4<s1>*";
  })) << get("domain/web").dump(2);
  EXPECT_THAT(tree("web"), ElementsAre("s1<>", "s2<s1>", "s3<s2>", "s4<s1>*"));
  ASSERT_TRUE(testsupport::eventually([&] {
    return get("snapshot/s1")["status"]["children"] == json::array({"s2", "s4"});
  })) << get("snapshot/s1").dump(2);
  ASSERT_TRUE(testsupport::eventually([&] { return get("snapshot/s3")["status"]["current"] == false; }));

  // Deleting s2 moves its child up to s1.
  auto deleted = kubectl("delete -n vms snapshot/s2 --timeout=60s");
  ASSERT_EQ(deleted.exitCode, 0) << deleted.output;
  ASSERT_TRUE(testsupport::eventually([&] { return tree("web").size() == 3; })) << get("domain/web").dump(2);
  EXPECT_THAT(tree("web"), ElementsAre("s1<>", "s3<s1>", "s4<s1>*"));
  ASSERT_TRUE(testsupport::eventually([&] { return get("snapshot/s3")["status"]["parent"] == "s1"; }));
  EXPECT_EQ(agent_->stop(), 0) << agent_->output();
}

TEST_F(StandaloneAgent, AfterARestartTheDomainAndItsTreeAreBack) {
  startAgent();
  apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vms\n");
  apply(domainYaml("db"));
  waitReady("domain/db");
  apply(snapshotYaml("a", "db") + "---\n" + snapshotYaml("b", "db"));
  waitReady("snapshot/a snapshot/b");
  apply(revertYaml("to-a", "db", "a"));
  ASSERT_EQ(kubectl("wait --for=jsonpath={.status.phase}=Succeeded --timeout=60s -n vms snapshotrevert/to-a")
                .exitCode,
            0);
  ASSERT_TRUE(testsupport::eventually([&] {
    return tree("db") == std::vector<std::string>{"a<>*", "b<a>"};
  })) << get("domain/db").dump(2);
  const std::string uuid = get("domain/db")["status"]["hypervisor"]["uuid"];
  ASSERT_EQ(agent_->stop(), 0) << agent_->output();

  // The test driver's state died with the process: the agent_ defines the domain again with its
  // UUID and redefines the tree from the Snapshots' recorded definitions, current included.
  startAgent();
  ASSERT_TRUE(testsupport::eventually([&] {
    return agent_->output().find("TreeRecovered") != std::string::npos ||
           kubectl("get events -n vms").output.find("TreeRecovered") != std::string::npos;
  })) << agent_->output()
      << kubectl("get events -n vms").output;
  ASSERT_TRUE(testsupport::eventually([&] {
    return tree("db") == std::vector<std::string>{"a<>*", "b<a>"};
  })) << get("domain/db").dump(2);
  EXPECT_EQ(get("domain/db")["status"]["hypervisor"]["uuid"], uuid);
  apply(snapshotYaml("c", "db"));
  waitReady("snapshot/c");
  ASSERT_TRUE(testsupport::eventually([&] {
    return tree("db") == std::vector<std::string>{"a<>", "b<a>", "c<a>*"};
  })) << get("domain/db").dump(2);
  EXPECT_EQ(agent_->stop(), 0) << agent_->output();
}

}  // namespace
}  // namespace virtsnap
