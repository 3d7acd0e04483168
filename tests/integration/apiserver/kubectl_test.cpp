// The embedded API server driven by the real /usr/bin/kubectl, each test with its own server, data
// directory, kubeconfig and --cache-dir. A test that needs kubectl to be watching before it writes
// waits for the server's open watch count, never for a fixed time.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "controller/apiserver/http/kubeconfig_writer.h"
#include "tests/support/eventually.h"
#include "tests/support/served_api.h"
#include "tests/support/shell_command.h"

namespace virtsnap::apiserver {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct KubectlRun {
  int exitCode;
  std::string output;  // stdout and stderr together
};

class Kubectl : public testsupport::ServedApiTest {
 protected:
  void SetUp() override { serve(/*https=*/true); }

  // Runs kubectl with this test's kubeconfig and cache; `input` goes to its standard input.
  KubectlRun kubectl(const std::string& args, const std::string& input = "") {
    const fs::path stdinFile = dir_ / "stdin.yaml";
    std::ofstream(stdinFile) << input;
    const std::string command = "kubectl --kubeconfig " + (dir_ / "kubeconfig").string() + " --cache-dir " +
                                (dir_ / "cache").string() + " " + args + " < " + stdinFile.string() + " 2>&1";
    virtsnap::testsupport::ShellResult run = virtsnap::testsupport::runShell(command);
    return KubectlRun{run.exitCode, run.output};
  }

  KubectlRun ok(const std::string& args, const std::string& input = "") {
    KubectlRun run = kubectl(args, input);
    EXPECT_EQ(run.exitCode, 0) << "kubectl " << args << "\n" << run.output;
    return run;
  }

  void createNamespace(const std::string& name) {
    ok("apply -f -", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n");
  }

  // A merge patch that marks a Domain Ready, quoted for the shell.
  static std::string readyStatusPatch() {
    return "'{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Running\","
           "\"message\":\"up\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":1}]}}'";
  }

  std::string examples() const { return (fs::path(VIRTSNAP_SOURCE_DIR) / "deploy" / "examples").string(); }

  // Waits until the server has exactly `count` watches open: a kubectl started on another thread has
  // listed and is watching, so what the test writes next reaches it as an event.
  void awaitOpenWatches(std::size_t count) {
    ASSERT_TRUE(testsupport::eventually([&] { return openWatches() == count; }))
        << "the server has " << openWatches() << " watch(es) open, not " << count;
  }
};

TEST_F(Kubectl, ApplyCreatesThenUpdatesTheExamples) {
  createNamespace("vms");
  KubectlRun created = ok("apply -f " + examples());
  EXPECT_THAT(created.output, AllOf(HasSubstr("domain.virtsnap.io/web-01 created"),
                                    HasSubstr("snapshotrevert.virtsnap.io/")));
  KubectlRun again = ok("apply -f " + examples());
  EXPECT_THAT(again.output, AllOf(HasSubstr("unchanged"), Not(HasSubstr("created"))));
  KubectlRun changed = ok("apply -f -", R"(apiVersion: virtsnap.io/v1alpha1
kind: Domain
metadata:
  name: web-01
  namespace: vms
spec:
  nodeName: worker-1
  vcpus: 4
  memory: 2Gi
)");
  EXPECT_THAT(changed.output, HasSubstr("domain.virtsnap.io/web-01 configured"));
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.spec.vcpus}").output, HasSubstr("4"));
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.metadata.generation}").output, HasSubstr("2"));
}

TEST_F(Kubectl, ServerSideApply) {
  createNamespace("vms");
  KubectlRun applied = ok("apply --server-side -f " + examples() + "/domain-created-disk.yaml");
  EXPECT_THAT(applied.output, HasSubstr("serverside-applied"));
  KubectlRun again = ok("apply --server-side -f " + examples() + "/domain-created-disk.yaml");
  EXPECT_THAT(again.output, HasSubstr("serverside-applied"));
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.metadata.managedFields[0].manager}").output,
              HasSubstr("kubectl"));
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.metadata.generation}").output, HasSubstr("1"));
}

TEST_F(Kubectl, GetPrintsTheCrdPrinterColumnsAndYaml) {
  createNamespace("vms");
  ok("apply -f " + examples());
  KubectlRun table = ok("get snap -n vms");
  EXPECT_THAT(table.output, AllOf(HasSubstr("NAME"), HasSubstr("DOMAIN"), HasSubstr("PARENT"),
                                  HasSubstr("CURRENT"), HasSubstr("PHASE"), HasSubstr("AGE")));
  KubectlRun domains = ok("get dom -A");
  EXPECT_THAT(domains.output,
              AllOf(HasSubstr("NAMESPACE"), HasSubstr("NODE"), HasSubstr("web-01"), HasSubstr("worker-1")));
  KubectlRun yaml = ok("get dom web-01 -n vms -o yaml");
  EXPECT_THAT(yaml.output, AllOf(HasSubstr("kind: Domain"), HasSubstr("uid:"), HasSubstr("resourceVersion:"),
                                 HasSubstr("creationTimestamp:")));
  EXPECT_THAT(ok("get virtsnap -n vms").output, HasSubstr("web-01"));  // the category
}

TEST_F(Kubectl, ExplainReadsTheSchema) {
  KubectlRun explain = ok("explain domain.spec");
  EXPECT_THAT(explain.output, AllOf(HasSubstr("nodeName"), HasSubstr("runState"), HasSubstr("disks")));
}

TEST_F(Kubectl, InvalidManifestsAreRefusedWithTheServersMessage) {
  createNamespace("vms");
  KubectlRun wrongType = kubectl("apply -f -", R"(apiVersion: virtsnap.io/v1alpha1
kind: Domain
metadata: {name: bad, namespace: vms}
spec: {nodeName: n1, vcpus: "many"}
)");
  EXPECT_NE(wrongType.exitCode, 0);
  EXPECT_THAT(wrongType.output, HasSubstr("vcpus"));
  KubectlRun badEnum = kubectl("apply -f -", R"(apiVersion: virtsnap.io/v1alpha1
kind: Domain
metadata: {name: bad, namespace: vms}
spec: {nodeName: n1, runState: Sleeping}
)");
  EXPECT_NE(badEnum.exitCode, 0);
  EXPECT_THAT(badEnum.output, HasSubstr("Unsupported value: \"Sleeping\""));
  ok("apply -f " + examples() + "/domain-created-disk.yaml");
  KubectlRun immutable =
      kubectl("patch dom web-01 -n vms --type merge -p '{\"spec\":{\"nodeName\":\"elsewhere\"}}'");
  EXPECT_NE(immutable.exitCode, 0);
  EXPECT_THAT(immutable.output, HasSubstr("nodeName is immutable"));
}

TEST_F(Kubectl, PatchStatusSubresourceAndWaitForCondition) {
  createNamespace("vms");
  ok("apply -f " + examples() + "/domain-created-disk.yaml");
  ok("patch dom web-01 -n vms --subresource=status --type merge -p "
     "'{\"status\":{\"state\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":"
     "\"Running\",\"message\":\"up\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"observedGeneration\":"
     "1}]}}'");
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.status.state}").output, HasSubstr("Running"));
  EXPECT_THAT(ok("get dom web-01 -n vms -o jsonpath={.metadata.generation}").output, HasSubstr("1"));
  KubectlRun waited = ok("wait --for=condition=Ready dom/web-01 -n vms --timeout=10s");
  EXPECT_THAT(waited.output, HasSubstr("condition met"));
}

TEST_F(Kubectl, DeleteWaitsForFinalizers) {
  createNamespace("vms");
  ok("apply -f -", R"(apiVersion: virtsnap.io/v1alpha1
kind: Domain
metadata: {name: held, namespace: vms, finalizers: [virtsnap.io/domain-protection]}
spec: {nodeName: n1}
)");
  ok("delete dom held -n vms --wait=false");
  EXPECT_THAT(ok("get dom held -n vms -o jsonpath={.metadata.deletionTimestamp}").output, HasSubstr("T"));
  KubectlRun waited;
  std::thread waiter([&] { waited = kubectl("wait --for=delete dom/held -n vms --timeout=60s"); });
  awaitOpenWatches(1);  // kubectl found the object still there (held by its finalizer) and is watching
  ok("patch dom held -n vms --type json -p '[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'");
  waiter.join();
  EXPECT_EQ(waited.exitCode, 0) << waited.output;
  EXPECT_THAT(waited.output, HasSubstr("condition met"));
  EXPECT_NE(kubectl("get dom held -n vms").exitCode, 0);
}

TEST_F(Kubectl, LabelAndFieldSelectors) {
  createNamespace("vms");
  ok("apply -f " + examples());
  EXPECT_THAT(ok("get dom -n vms -l app.kubernetes.io/name=web -o name").output,
              HasSubstr("domain.virtsnap.io/web-01"));
  EXPECT_THAT(ok("get dom -n vms -l app.kubernetes.io/name=nothing -o name").output,
              Not(HasSubstr("web-01")));
  EXPECT_THAT(ok("get dom -n vms --field-selector spec.nodeName=worker-1 -o name").output,
              HasSubstr("web-01"));
  EXPECT_THAT(ok("get dom -n vms --field-selector spec.nodeName=other -o name").output,
              Not(HasSubstr("web-01")));
  EXPECT_THAT(ok("get dom -n vms --field-selector metadata.name=web-01 -o name").output, HasSubstr("web-01"));
}

TEST_F(Kubectl, GetWatchReceivesEvents) {
  createNamespace("vms");
  const fs::path out = dir_ / "watch.out";
  std::thread watcher([&] { kubectl("get dom -n vms -w --request-timeout=90s -o name > " + out.string()); });
  awaitOpenWatches(1);
  ok("apply -f " + examples() + "/domain-created-disk.yaml");
  ok("label dom web-01 -n vms tier=front");
  auto seen = [&] {
    std::ifstream in(out);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  auto lines = [](const std::string& text, const std::string& line) {
    std::size_t count = 0;
    for (std::size_t at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) {
      ++count;
    }
    return count;
  };
  // One line for the creation, one for the label.
  EXPECT_TRUE(testsupport::eventually([&] { return lines(seen(), "domain.virtsnap.io/web-01\n") >= 2; }))
      << seen();
  stopServing();  // ends kubectl's watch, and with it kubectl
  watcher.join();
}

TEST_F(Kubectl, NothingAcknowledgedIsLostAcrossARestart) {
  createNamespace("vms");
  ok("apply -f " + examples());
  const std::string before = ok("get dom,snap,revert -n vms -o name").output;
  const std::string rv = ok("get dom web-01 -n vms -o jsonpath={.metadata.resourceVersion}").output;
  stopServing();
  serveAgain();
  EXPECT_EQ(ok("get dom,snap,revert -n vms -o name").output, before);
  ok("label dom web-01 -n vms after=restart");
  const std::string after = ok("get dom web-01 -n vms -o jsonpath={.metadata.resourceVersion}").output;
  EXPECT_GT(std::stoull(after), std::stoull(rv));
}

TEST_F(Kubectl, AWaitingWatchResumesAcrossAServerRestart) {
  createNamespace("vms");
  ok("apply -f " + examples() + "/domain-created-disk.yaml");
  KubectlRun waited;
  std::thread waiter([&] { waited = kubectl("wait --for=condition=Ready dom/web-01 -n vms --timeout=90s"); });
  awaitOpenWatches(1);  // kubectl has listed and is watching
  stopServing();
  serveAgain();
  awaitOpenWatches(1);  // kubectl is watching the restarted server
  ok("patch dom web-01 -n vms --subresource=status --type merge -p " + readyStatusPatch());
  waiter.join();
  EXPECT_EQ(waited.exitCode, 0) << waited.output;
  EXPECT_THAT(waited.output, HasSubstr("condition met"));
}

TEST_F(Kubectl, AWatchAnsweredWithGoneRelistsAndStillSeesTheChange) {
  createNamespace("vms");
  ok("apply -f " + examples() + "/domain-created-disk.yaml");
  Fault gone;
  gone.method = "GET";
  gone.pathPrefix = "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains";
  gone.watchOnly = true;
  gone.status = 410;
  gone.times = 1;
  handler_->faults().add(gone);
  KubectlRun waited;
  std::thread waiter([&] { waited = kubectl("wait --for=condition=Ready dom/web-01 -n vms --timeout=90s"); });
  awaitOpenWatches(1);  // refused once with 410, kubectl relisted and is watching again
  ok("patch dom web-01 -n vms --subresource=status --type merge -p " + readyStatusPatch());
  waiter.join();
  EXPECT_EQ(handler_->faults().injected(), 1);     // kubectl's watch was refused with 410 once ...
  EXPECT_EQ(waited.exitCode, 0) << waited.output;  // ... relisted, watched again and saw the condition
  EXPECT_THAT(waited.output, HasSubstr("condition met"));
}

TEST_F(Kubectl, CreateNamespaceSendsProtobufAndIsUnderstood) {
  KubectlRun created = ok("create namespace team-a");
  EXPECT_THAT(created.output, HasSubstr("namespace/team-a created"));
  EXPECT_THAT(ok("get ns team-a -o jsonpath={.metadata.name}").output, HasSubstr("team-a"));
  KubectlRun again = kubectl("create namespace team-a");
  EXPECT_NE(again.exitCode, 0);
  EXPECT_THAT(again.output, HasSubstr("AlreadyExists"));
}

TEST_F(Kubectl, DeletingANamespaceTakesItsObjectsWithIt) {
  createNamespace("vms");
  ok("apply -f " + examples());
  KubectlRun deleted = ok("delete namespace vms --timeout=30s");
  EXPECT_THAT(deleted.output, HasSubstr("namespace \"vms\" deleted"));
  EXPECT_NE(kubectl("get ns vms").exitCode, 0);
  EXPECT_THAT(ok("get dom,snap,revert -A -o name").output, Not(HasSubstr("vms")));
}

TEST_F(Kubectl, AWrongTokenIsRefused) {
  ASSERT_TRUE(writeKubeconfig(dir_ / "kubeconfig", server_->url(), "not-the-token", tls_->caCertificatePem)
                  .has_value());
  KubectlRun refused = kubectl("get dom -A");
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_THAT(refused.output, HasSubstr("You must be logged in to the server"));
}

// A core/v1 Event about one object, as the agent's recorder will write them.
std::string eventYaml(const std::string& name, const std::string& kind, const std::string& object,
                      const std::string& uid, const std::string& reason, const std::string& type,
                      const std::string& message, const std::string& lastTimestamp) {
  return "apiVersion: v1\nkind: Event\nmetadata:\n  name: " + name + "\n  namespace: vms\n" +
         "involvedObject:\n  apiVersion: virtsnap.io/v1alpha1\n  kind: " + kind + "\n  name: " + object +
         "\n  namespace: vms\n  uid: \"" + uid + "\"\nreason: " + reason + "\ntype: " + type +
         "\nmessage: " + message +
         "\nsource:\n  component: virtsnap-agent\n  host: worker-1\nfirstTimestamp: \"" + lastTimestamp +
         "\"\nlastTimestamp: \"" + lastTimestamp + "\"\ncount: 1\n";
}

TEST_F(Kubectl, DescribeListsTheObjectsEvents) {
  createNamespace("vms");
  ok("apply -f " + examples() + "/snapshot-internal.yaml -f " + examples() + "/domain-created-disk.yaml");
  const std::string uid = ok("get snap web-01-base -n vms -o jsonpath={.metadata.uid}").output;
  ASSERT_FALSE(uid.empty());
  ok("create -f -", eventYaml("web-01-base.1", "Snapshot", "web-01-base", uid, "DeletionBlocked", "Warning",
                              "children still depend on this snapshot", "2026-01-01T00:00:00Z"));
  ok("create -f -", eventYaml("web-01.1", "Domain", "web-01", "other-uid", "Defined", "Normal",
                              "defined in libvirt", "2026-01-01T00:00:00Z"));
  KubectlRun described = ok("describe snap web-01-base -n vms");
  EXPECT_THAT(described.output, AllOf(HasSubstr("Events:"), HasSubstr("DeletionBlocked"),
                                      HasSubstr("children still depend on this snapshot"),
                                      HasSubstr("virtsnap-agent"), Not(HasSubstr("defined in libvirt"))));
  EXPECT_THAT(described.output, Not(HasSubstr("Events:  <none>"))) << described.output;
  EXPECT_THAT(ok("describe dom web-01 -n vms").output, Not(HasSubstr("DeletionBlocked")));
}

TEST_F(Kubectl, GetEventsPrintsKubesColumnsSelectsAndSorts) {
  createNamespace("vms");
  // Created newest first, so that sorting by lastTimestamp has something to reorder.
  ok("create -f -", eventYaml("b.2", "Snapshot", "b", "uid-b", "Second", "Warning", "the later one",
                              "2025-06-01T00:00:00Z"));
  ok("create -f -",
     eventYaml("a.1", "Domain", "a", "uid-a", "First", "Normal", "the earlier one", "2025-01-01T00:00:00Z"));
  KubectlRun table = ok("get events -n vms");
  EXPECT_THAT(table.output,
              AllOf(HasSubstr("LAST SEEN"), HasSubstr("TYPE"), HasSubstr("REASON"), HasSubstr("OBJECT"),
                    HasSubstr("MESSAGE"), HasSubstr("snapshot/b"), HasSubstr("domain/a"),
                    HasSubstr("the later one"), Not(HasSubstr("COUNT"))));
  EXPECT_THAT(ok("get events -n vms -o wide").output,
              AllOf(HasSubstr("SUBOBJECT"), HasSubstr("SOURCE"), HasSubstr("FIRST SEEN"), HasSubstr("COUNT"),
                    HasSubstr("NAME"), HasSubstr("virtsnap-agent, worker-1"), HasSubstr("a.1")));
  KubectlRun selected = ok("get events -n vms --field-selector involvedObject.name=a");
  EXPECT_THAT(selected.output, AllOf(HasSubstr("the earlier one"), Not(HasSubstr("the later one"))));
  EXPECT_THAT(ok("get events -n vms --field-selector type=Warning,source=virtsnap-agent -o name").output,
              AllOf(HasSubstr("b.2"), Not(HasSubstr("a.1"))));
  KubectlRun refused = kubectl("get events -n vms --field-selector involvedObject.color=red");
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_THAT(refused.output, HasSubstr("field label not supported: involvedObject.color"));
  KubectlRun sorted = ok("get events -n vms --sort-by=.lastTimestamp");
  const auto earlier = sorted.output.find("the earlier one");
  const auto later = sorted.output.find("the later one");
  ASSERT_NE(earlier, std::string::npos) << sorted.output;
  ASSERT_NE(later, std::string::npos) << sorted.output;
  EXPECT_LT(earlier, later) << sorted.output;
}

TEST_F(Kubectl, NamespacesAndLeasesPrintKubesColumns) {
  createNamespace("vms");
  ok("create -f -", R"(apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: virtsnap-agent-worker-1, namespace: vms}
spec: {holderIdentity: worker-1, leaseDurationSeconds: 15}
)");
  EXPECT_THAT(ok("get ns vms").output, AllOf(HasSubstr("STATUS"), HasSubstr("Active"), HasSubstr("AGE")));
  EXPECT_THAT(ok("get ns --field-selector status.phase=Active -o name").output, HasSubstr("namespace/vms"));
  EXPECT_THAT(ok("get leases -n vms").output,
              AllOf(HasSubstr("HOLDER"), HasSubstr("worker-1"), HasSubstr("AGE")));
}

TEST_F(Kubectl, ReapplyingEveryExampleUnchangedPrintsUnchangedForEachObject) {
  createNamespace("vms");
  KubectlRun created = ok("apply -f " + examples());
  KubectlRun again = ok("apply -f " + examples());
  std::istringstream lines(again.output);
  int objects = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      continue;
    }
    ++objects;
    EXPECT_THAT(line, ::testing::EndsWith(" unchanged")) << again.output;
  }
  EXPECT_EQ(objects, 7) << again.output;  // two Domains, four Snapshots, one SnapshotRevert
}

}  // namespace
}  // namespace virtsnap::apiserver
