// The kubectl plugin kubectl-virtsnap found by the real /usr/bin/kubectl on PATH (its plugin discovery),
// against the real virtsnap-controller in standalone mode: `kubectl virtsnap tree` prints the tree that
// virsh prints for the same operations on libvirt's test driver, the current snapshot marked, and
// `kubectl virtsnap revert` moves the current snapshot and says from where to where; a missing Domain or
// Snapshot, a Domain without snapshots, a failed revert and an unreachable server exit non-zero and say
// why, and a failed snapshot is listed after the tree with its message.

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
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
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr const char* kNode = "test-node";

std::string domainYaml(const std::string& name) {
  return "apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: " + name +
         "\n  namespace: vms\nspec:\n  nodeName: " + kNode +
         "\n  type: test\n  vcpus: 1\n  memory: 64Mi\n  os:\n    arch: i686\n"
         "  disks:\n    - name: vda\n      create:\n        size: 1Gi\n";
}

std::string snapshotYaml(const std::string& name) {
  return "apiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: " + name +
         "\n  namespace: vms\nspec:\n  domainName: web\n";
}

class KubectlPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("virtsnap-plugin-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_ / "home");
    agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / "agent.log");
    ASSERT_TRUE(agent_->start({"--standalone", "--data-dir", (dir_ / "data").string(), "--crd-dir",
                               std::string(VIRTSNAP_SOURCE_DIR) + "/crds", "--node-name", kNode,
                               "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
                               "--poll-period", "1"}));
    ASSERT_TRUE(testsupport::eventually([&] { return fs::exists(dir_ / "data" / "kubeconfig"); }))
        << agent_->output();
    ASSERT_TRUE(testsupport::eventually([&] { return kubectl("get namespaces").exitCode == 0; }))
        << agent_->output();
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

  // kubectl as a user runs it: the kubeconfig from KUBECONFIG, its own cache and home, and the
  // plugin's folder first on PATH so that kubectl's plugin discovery finds the built kubectl-virtsnap.
  // `err` (optional) gets stderr apart from stdout. The plugin runs without LeakSanitizer (builds
  // without it ignore the option): `revert` exits with its watch's read abandoned, never cancelled,
  // as every client of the HTTP transport does (see ChildLeakDetectionOff).
  testsupport::ShellResult kubectl(const std::string& args, const std::string& input = "",
                                   std::string* err = nullptr) {
    const fs::path stdinFile = dir_ / "stdin.yaml";
    const fs::path errFile = dir_ / "stderr.txt";
    std::ofstream(stdinFile) << input;
    const std::string pluginDir = fs::path(VIRTSNAP_KUBECTL_PLUGIN_BINARY).parent_path().string();
    auto run = testsupport::runShell(
        "PATH='" + pluginDir + "':\"$PATH\" KUBECONFIG='" + (dir_ / "data" / "kubeconfig").string() +
        "' KUBECACHEDIR='" + (dir_ / "cache").string() + "' HOME='" + (dir_ / "home").string() +
        "' ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" kubectl " + args + " < '" +
        stdinFile.string() + "' " + (err != nullptr ? "2>'" + errFile.string() + "'" : "2>&1"));
    if (err != nullptr) {
      std::ifstream in(errFile);
      err->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return run;
  }

  void apply(const std::string& yaml) {
    auto run = kubectl("apply -f -", yaml);
    ASSERT_EQ(run.exitCode, 0) << run.output;
  }

  json get(const std::string& what) {
    auto run = kubectl("get -n vms -o json " + what);
    EXPECT_EQ(run.exitCode, 0) << run.output;
    return run.exitCode == 0 ? json::parse(run.output) : json();
  }

  // The Domain's status.snapshotTree as "name<parent>[*]" entries.
  std::vector<std::string> statusTree() {
    std::vector<std::string> lines;
    for (const auto& entry : get("domain/web")["status"].value("snapshotTree", json::array())) {
      lines.push_back(entry.value("name", "") + "<" + entry.value("parent", "") + ">" +
                      (entry.value("current", false) ? "*" : ""));
    }
    return lines;
  }

  fs::path dir_;
  std::unique_ptr<testsupport::AgentProcess> agent_;
};

// What virsh prints for the same snapshot operations on libvirt's own test driver (the agent's
// in-process test driver is out of virsh's reach).
std::string virshTree(const std::string& operations) {
  auto run = testsupport::runShell("virsh -q -c test:///default '" + operations +
                                   "; snapshot-list test --tree' 2>&1");
  EXPECT_EQ(run.exitCode, 0) << run.output;
  return run.output;
}

TEST_F(KubectlPlugin, TreeMatchesVirshAndRevertMovesTheCurrentSnapshot) {
  apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vms\n");
  apply(domainYaml("web"));
  apply(snapshotYaml("s1") + "---\n" + snapshotYaml("s2") + "---\n" + snapshotYaml("s3"));
  auto ready = kubectl("wait --for=condition=Ready --timeout=60s -n vms snapshot/s1 snapshot/s2 snapshot/s3");
  ASSERT_EQ(ready.exitCode, 0) << ready.output;

  // Back to s1 through the plugin, then s4: a branch below s1.
  std::string err;
  auto reverted = kubectl("virtsnap revert web s1 -n vms --timeout 60s", "", &err);
  ASSERT_EQ(reverted.exitCode, 0) << reverted.output << err;
  EXPECT_THAT(reverted.output,
              MatchesRegex("web: s3 -> s1 \\(snapshotrevert/web-revert-[a-z0-9]+ Succeeded\\)\n"));
  apply(snapshotYaml("s4"));
  ASSERT_TRUE(testsupport::eventually([&] {
    return statusTree() == std::vector<std::string>{"s1<>", "s2<s1>", "s3<s2>", "s4<s1>*"};
  })) << get("domain/web").dump(2);

  auto tree = kubectl("virtsnap tree web --namespace vms", "", &err);
  ASSERT_EQ(tree.exitCode, 0) << tree.output << err;
  EXPECT_EQ(err, "");
  const std::string virsh = virshTree(
      "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test s3; "
      "snapshot-revert test s1; snapshot-create-as test s4");
  EXPECT_EQ(tree.output, std::regex_replace(virsh, std::regex("\\+- s4\n"), "+- s4 *\n"));
  EXPECT_EQ(tree.output,
            "s1\n"
            "  |\n"
            "  +- s2\n"
            "  |   |\n"
            "  |   +- s3\n"
            "  |     \n"
            "  +- s4 *\n"
            "    \n");

  // To s3, a leaf on the other branch: the mark moves with the agent's status.
  reverted = kubectl("virtsnap revert web s3 -n vms", "", &err);
  ASSERT_EQ(reverted.exitCode, 0) << reverted.output << err;
  EXPECT_THAT(reverted.output, HasSubstr("web: s4 -> s3 ("));
  ASSERT_TRUE(
      testsupport::eventually([&] { return get("domain/web")["status"]["currentSnapshot"] == "s3"; }));
  tree = kubectl("virtsnap tree web -n vms");
  ASSERT_EQ(tree.exitCode, 0) << tree.output;
  EXPECT_THAT(tree.output, HasSubstr("  |   +- s3 *\n"));
  EXPECT_THAT(tree.output, HasSubstr("  +- s4\n"));
}

TEST_F(KubectlPlugin, FailuresSayWhyAndExitNonZero) {
  apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vms\n");
  apply(domainYaml("web"));

  auto run = kubectl("virtsnap tree nosuch -n vms");
  EXPECT_NE(run.exitCode, 0);
  EXPECT_THAT(run.output, HasSubstr("error: domain \"nosuch\" not found in namespace \"vms\""));

  run = kubectl("virtsnap tree web -n vms");
  EXPECT_NE(run.exitCode, 0);
  EXPECT_THAT(run.output, HasSubstr("error: domain \"web\" in namespace \"vms\" has no snapshots"));

  run = kubectl("virtsnap revert web nosuch -n vms --timeout 5s");
  EXPECT_NE(run.exitCode, 0);
  EXPECT_THAT(run.output, HasSubstr("error: snapshot \"nosuch\" not found in namespace \"vms\""));

  // A snapshot the test driver refuses (an external one of a disk that is not a file) is listed after
  // the tree with its phase and message; a revert to it fails and says why.
  apply(snapshotYaml("s1") + "---\n" + snapshotYaml("ext") + "  location: External\n  memory: true\n");
  run = kubectl("wait --for=jsonpath={.status.phase}=Failed --timeout=60s -n vms snapshot/ext");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  run = kubectl("wait --for=condition=Ready --timeout=60s -n vms snapshot/s1");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  ASSERT_TRUE(
      testsupport::eventually([&] { return get("domain/web")["status"]["currentSnapshot"] == "s1"; }));
  run = kubectl("virtsnap tree web -n vms");
  EXPECT_EQ(run.exitCode, 0) << run.output;
  EXPECT_THAT(run.output,
              ::testing::StartsWith("s1 *\n\nNot in the tree:\n  ext (Failed: creating snapshot 'ext'"));
  run = kubectl("virtsnap revert web ext -n vms --timeout 30s");
  EXPECT_EQ(run.exitCode, 1) << run.output;
  EXPECT_THAT(run.output, MatchesRegex("error: snapshotrevert/web-revert-[a-z0-9]+ Failed: SnapshotNotFound: "
                                       "domain web has no snapshot ext\n"));

  // --kubeconfig after the plugin's name goes to the plugin, before KUBECONFIG.
  run = kubectl("virtsnap tree web -n vms --kubeconfig /nonexistent/kubeconfig");
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_THAT(run.output, HasSubstr("error: no usable cluster configuration: cannot read the kubeconfig "
                                    "/nonexistent/kubeconfig"));

  // The kubeconfig's context namespace is the default one: no Domain there.
  run = kubectl("virtsnap tree web");
  EXPECT_NE(run.exitCode, 0);
  EXPECT_THAT(run.output, HasSubstr("not found in namespace \"default\""));

  agent_->kill();
  run = kubectl("virtsnap tree web -n vms");
  EXPECT_NE(run.exitCode, 0);
  EXPECT_THAT(run.output, HasSubstr("error: reading domain \"web\" in namespace \"vms\": Network"));
}

}  // namespace
}  // namespace virtsnap
