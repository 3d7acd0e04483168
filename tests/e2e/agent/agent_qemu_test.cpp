// End-to-end: the real virtsnap-controller binary (standalone: embedded API server on loopback) against
// real libvirtd (11.3) and QEMU/KVM, driven with the real kubectl as a user would. Each test makes one
// tiny domain (64 MiB, SeaBIOS, a 16 MiB qcow2 under /var/lib/virtsnap-e2e/<test>/, the agent's only
// allowed storage root) through a Domain object, and after every step compares the tree in the objects'
// status with libvirt's own, as virsh lists it. tests/e2e/README.md holds the facts behind the
// domain; tests/e2e/qemu_snapshots_test.cpp shows the same rules on the driver alone.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/agent_process.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const fs::path kRoot = "/var/lib/virtsnap-e2e";
constexpr const char* kNode = "e2e-node";
constexpr const char* kNamespace = "e2e";
constexpr const char* kVirsh = "virsh -q -c qemu:///system ";
constexpr const char* kFinalizer = "virtsnap.io/snapshot-protection";
constexpr std::chrono::seconds kWait{30};

// `text` without its trailing line breaks and spaces (virsh prints what it read with its own).
std::string trimmed(std::string text) {
  text.erase(text.find_last_not_of(" \n") + 1);
  return text;
}

// libvirtd once for the whole run, as the driver-level e2e tests start it (idempotent, under their lock).
class LibvirtdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string script = "flock -o /run/virtsnap-e2e.lock sh -c 'bash " +
                               std::string(VIRTSNAP_SOURCE_DIR) +
                               "/scripts/start-libvirtd.sh >/dev/null && mkdir -p " + kRoot.string() +
                               " && chmod 0755 " + kRoot.string() + "'";
    ASSERT_EQ(std::system(script.c_str()), 0) << "could not start libvirtd: " << script;
  }
};

[[maybe_unused]] const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new LibvirtdEnvironment);

// A loopback port that was free a moment ago, for the agent's /metrics.
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

struct SnapshotKind {
  std::string location;  // Internal | External
  std::string memory;    // "", "true", "false"
  std::string quiesce;   // "", "false"
};
const SnapshotKind kInternal{"Internal", "", ""};
const SnapshotKind kExternalWithMemory{"External", "true", ""};
const SnapshotKind kExternalDiskOnly{"External", "false", "false"};

// A libvirt tree: each snapshot's parent ("" for a root) and the current one.
struct Tree {
  std::map<std::string, std::string> parents;
  std::string current;

  std::vector<std::string> childrenOf(const std::string& name) const {
    std::vector<std::string> children;
    for (const auto& [child, parent] : parents) {
      if (parent == name) {
        children.push_back(child);  // std::map: sorted, as status.children is
      }
    }
    return children;
  }
  friend std::ostream& operator<<(std::ostream& out, const Tree& tree) {
    for (const auto& [name, parent] : tree.parents) {
      out << name << "<" << parent << ">" << (name == tree.current ? "*" : "") << " ";
    }
    return out;
  }
};

class AgentOnQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    domain_ = "agent-" + std::to_string(std::hash<std::string>{}(test) % 100000);
    hypervisorName_ = "vs-e2e-" + domain_;
    imageDir_ = kRoot / hypervisorName_;
    work_ = fs::temp_directory_path() / ("virtsnap-e2e-agent-" + domain_ + "-" + std::to_string(::getpid()));
    cleanUp();  // whatever an interrupted earlier run left behind
    fs::create_directories(work_);
    fs::create_directories(imageDir_);  // traversable by libvirt's QEMU user, which writes overlays here
    fs::permissions(imageDir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    auto image = testsupport::runShell("qemu-img create -q -f qcow2 " + disk() + " 16M 2>&1");
    ASSERT_EQ(image.exitCode, 0) << image.output;

    metricsPort_ = freePort();
    agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, work_ / "agent.log");
    ASSERT_TRUE(
        agent_->start({"--standalone", "--data-dir", (work_ / "data").string(), "--crd-dir",
                       std::string(VIRTSNAP_SOURCE_DIR) + "/crds", "--node-name", kNode, "--libvirt-uri",
                       "qemu:///system", "--allowed-storage-root", imageDir_.string(),
                       "--metrics-bind-address", "127.0.0.1:" + std::to_string(metricsPort_),
                       "--health-probe-bind-address", "0", "--poll-period", "1"}));
    ASSERT_TRUE(testsupport::eventually([&] { return fs::exists(work_ / "data" / "kubeconfig"); }, kWait))
        << agent_->output();
    ASSERT_TRUE(testsupport::eventually([&] { return kubectl("get namespaces").exitCode == 0; }, kWait))
        << agent_->output();
    apply(std::string("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ") + kNamespace + "\n");
    apply("apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: " + domain_ +
          "\n  namespace: " + kNamespace + "\nspec:\n  nodeName: " + kNode + "\n  hypervisorName: " +
          hypervisorName_ + "\n  type: " + (fs::exists("/dev/kvm") ? "kvm" : "qemu") +
          "\n  vcpus: 1\n  memory: 64Mi\n  os:\n    arch: x86_64\n    machine: pc\n"
          "  disks:\n    - name: vda\n      source:\n        path: " +
          disk() + "\n");
    waitReady("domain/" + domain_);
    ASSERT_EQ(status("domain/" + domain_).value("state", ""), "Running");
  }

  void TearDown() override {
    if (agent_) {
      if (HasFailure()) {
        std::cerr << "--- agent output ---\n"
                  << agent_->output() << "\n--- libvirt ---\n"
                  << virsh("snapshot-list " + hypervisorName_ + " --tree").output << "\n---\n";
      }
      agent_->kill();  // before the domain goes, or the agent would define it again
    }
    cleanUp();
  }

  void cleanUp() {
    testsupport::runShell(kVirsh + std::string("destroy ") + hypervisorName_ + " >/dev/null 2>&1");
    testsupport::runShell(kVirsh + std::string("undefine ") + hypervisorName_ +
                          " --snapshots-metadata --nvram >/dev/null 2>&1");
    std::error_code ignored;
    fs::remove_all(imageDir_, ignored);
    fs::remove_all(work_, ignored);
  }

  std::string disk() const { return (imageDir_ / "disk.qcow2").string(); }

  // kubectl with this agent's own discovery cache (one per test: the API server is new each time).
  testsupport::ShellResult kubectl(const std::string& args, const std::string& input = "") {
    const fs::path stdinFile = work_ / "stdin.yaml";
    std::ofstream(stdinFile) << input;
    const fs::path cache = work_ / "cache";
    auto result = testsupport::runShell("kubectl --kubeconfig " + (work_ / "data" / "kubeconfig").string() +
                                        " --cache-dir " + cache.string() + " " + args + " < " +
                                        stdinFile.string() + " 2>&1");
    return result;
  }
  testsupport::ShellResult virsh(const std::string& args) {
    return testsupport::runShell(kVirsh + args + " 2>&1");
  }

  void apply(const std::string& yaml) {
    auto run = kubectl("apply -f -", yaml);
    ASSERT_EQ(run.exitCode, 0) << run.output;
  }
  void waitReady(const std::string& what) {
    auto run = kubectl("wait --for=condition=Ready --timeout=30s -n " + std::string(kNamespace) + " " + what);
    ASSERT_EQ(run.exitCode, 0) << run.output << "\n"
                               << kubectl("get -o yaml -n " + std::string(kNamespace) + " " + what).output;
  }
  json status(const std::string& what) { return get(what).value("status", json::object()); }
  json get(const std::string& what) {
    auto run = kubectl("get -o json -n " + std::string(kNamespace) + " " + what);
    return run.exitCode == 0 ? json::parse(run.output, nullptr, false) : json::object();
  }

  void takeSnapshot(const std::string& name, const SnapshotKind& kind) {
    std::string yaml = "apiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: " + name +
                       "\n  namespace: " + kNamespace + "\nspec:\n  domainName: " + domain_ +
                       "\n  location: " + kind.location + "\n";
    if (!kind.memory.empty()) {
      yaml += "  memory: " + kind.memory + "\n";
    }
    if (!kind.quiesce.empty()) {
      yaml += "  quiesce: " + kind.quiesce + "\n";
    }
    apply(yaml);
    waitReady("snapshot/" + name);
  }
  void revertTo(const std::string& snapshot) {
    const std::string name = "to-" + snapshot + "-" + std::to_string(++reverts_);
    apply("apiVersion: virtsnap.io/v1alpha1\nkind: SnapshotRevert\nmetadata:\n  name: " + name +
          "\n  namespace: " + kNamespace + "\nspec:\n  domainName: " + domain_ +
          "\n  snapshotName: " + snapshot + "\n");
    auto run = kubectl("wait --for=jsonpath={.status.phase}=Succeeded --timeout=30s -n " +
                       std::string(kNamespace) + " snapshotrevert/" + name);
    ASSERT_EQ(run.exitCode, 0) << run.output << get("snapshotrevert/" + name).dump(2);
  }

  // libvirt's tree as virsh shows it: `snapshot-list --parent` lines are
  // "<name> <date> <time> <zone> <state> [<parent>]", and snapshot-current names the current one.
  Tree libvirtTree() {
    Tree tree;
    auto listing = virsh("snapshot-list " + hypervisorName_ + " --parent");
    EXPECT_EQ(listing.exitCode, 0) << listing.output;
    std::istringstream lines(listing.output);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::vector<std::string> words;
      for (std::string word; fields >> word;) {
        words.push_back(word);
      }
      if (words.size() >= 5) {
        tree.parents[words[0]] = words.size() >= 6 ? words[5] : "";
      }
    }
    auto current = virsh("snapshot-current " + hypervisorName_ + " --name");
    if (current.exitCode == 0) {
      tree.current = current.output.substr(0, current.output.find_first_of("\n"));
    }
    return tree;
  }

  // "" when the Domain's status (currentSnapshot, snapshotCount, snapshotTree) and every Ready
  // Snapshot's status (parent, children, current) say what libvirt says; otherwise the difference.
  std::string statusDiffersFromLibvirt() {
    const Tree libvirt = libvirtTree();
    std::ostringstream problems;
    json domainStatus = json::object();
    json snapshots = json::array();
    for (const auto& item : get("domains,snapshots").value("items", json::array())) {
      if (item.value("kind", "") == "Domain") {
        domainStatus = item.value("status", json::object());
      } else {
        snapshots.push_back(item);
      }
    }
    Tree fromDomain;
    std::set<std::string> seen;
    for (const auto& entry : domainStatus.value("snapshotTree", json::array())) {
      const std::string name = entry.value("name", "");
      const std::string parent = entry.value("parent", "");
      if (!parent.empty() && !seen.contains(parent)) {
        problems << "snapshotTree lists " << name << " before its parent " << parent << "; ";
      }
      seen.insert(name);
      fromDomain.parents[name] = parent;
      if (entry.value("current", false)) {
        fromDomain.current = name;
      }
    }
    if (fromDomain.parents != libvirt.parents || fromDomain.current != libvirt.current) {
      problems << "Domain snapshotTree " << fromDomain << "!= libvirt " << libvirt << "; ";
    }
    if (domainStatus.value("currentSnapshot", "") != libvirt.current) {
      problems << "Domain currentSnapshot '" << domainStatus.value("currentSnapshot", "") << "'; ";
    }
    if (domainStatus.value("snapshotCount", -1) != static_cast<int>(libvirt.parents.size())) {
      problems << "Domain snapshotCount " << domainStatus.value("snapshotCount", -1) << "; ";
    }
    Tree fromSnapshots;
    for (const auto& item : snapshots) {
      const json status = item.value("status", json::object());
      if (status.value("phase", "") != "Ready") {
        continue;
      }
      const std::string name = item["metadata"].value("name", "");
      fromSnapshots.parents[name] = status.value("parent", "");
      if (status.value("current", false)) {
        fromSnapshots.current = name;
      }
      const auto children = status.value("children", std::vector<std::string>{});
      if (libvirt.parents.contains(name) && children != libvirt.childrenOf(name)) {
        problems << "Snapshot " << name << " children " << json(children).dump() << "; ";
      }
      // The definition recorded for recovery is libvirt's XML now (the agent keeps only its digest
      // and reads it again when a neighbour's operation rewrote it).
      if (libvirt.parents.contains(name)) {
        const auto dumped = virsh("snapshot-dumpxml " + hypervisorName_ + " " + name);
        if (dumped.exitCode == 0 && trimmed(status.value("definition", "")) != trimmed(dumped.output)) {
          problems << "Snapshot " << name << " status.definition is not libvirt's; ";
        }
      }
    }
    if (fromSnapshots.parents != libvirt.parents || fromSnapshots.current != libvirt.current) {
      problems << "Snapshots' status " << fromSnapshots << "!= libvirt " << libvirt << "; ";
    }
    return problems.str();
  }

  // Waits until every object's status tells libvirt's tree.
  void awaitStatusTreeIsLibvirts() {
    std::string difference;
    ASSERT_TRUE(testsupport::eventually(
        [&] {
          difference = statusDiffersFromLibvirt();
          return difference.empty();
        },
        kWait))
        << difference;
  }

  void expectStatusTreeIsLibvirts(const Tree& expected) {
    ASSERT_NO_FATAL_FAILURE(awaitStatusTreeIsLibvirts());
    const Tree libvirt = libvirtTree();
    EXPECT_EQ(libvirt.parents, expected.parents) << libvirt;
    EXPECT_EQ(libvirt.current, expected.current) << libvirt;
  }

  // The sum of the snapshot controller's reconciles so far, from the agent's /metrics.
  double snapshotReconciles() {
    auto scrape =
        testsupport::runShell("curl -sf http://127.0.0.1:" + std::to_string(metricsPort_) + "/metrics");
    double total = 0;
    std::istringstream lines(scrape.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("controller_runtime_reconcile_total{") &&
          line.find("controller=\"snapshot\"") != std::string::npos) {
        total += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  }

  // `kubectl delete --wait=false`, then: the object stays (finalizer), DeletionBlocked=True with
  // `reason` and a message containing `unblock`, the same reason in status, a Warning Event, and the
  // snapshot still on libvirt.
  void deleteAndExpectBlocked(const std::string& snapshot, const std::string& reason,
                              const std::string& unblock) {
    auto run = kubectl("delete --wait=false -n " + std::string(kNamespace) + " snapshot/" + snapshot);
    ASSERT_EQ(run.exitCode, 0) << run.output;
    expectBlocked(snapshot, reason, unblock);
  }
  void expectBlocked(const std::string& snapshot, const std::string& reason, const std::string& unblock) {
    // A watch (kubectl wait) rather than polling with kubectl get: the machine has two cores.
    kubectl("wait --for=jsonpath={.status.deletionBlockedReason}=" + reason + " --timeout=30s -n " +
            std::string(kNamespace) + " snapshot/" + snapshot);
    json object;
    json condition;
    bool evented = false;
    ASSERT_TRUE(testsupport::eventually(
        [&] {
          object = json::object();
          for (const auto& item : get("snapshots,events").value("items", json::array())) {
            if (item.value("kind", "") == "Snapshot" && item["metadata"].value("name", "") == snapshot) {
              object = item;
            }
            evented =
                evented ||
                (item.value("kind", "") == "Event" && item["involvedObject"].value("name", "") == snapshot &&
                 item.value("reason", "") == "DeletionBlocked" && item.value("type", "") == "Warning");
          }
          condition = json::object();
          for (const auto& c : object.value("status", json::object()).value("conditions", json::array())) {
            if (c.value("type", "") == "DeletionBlocked") {
              condition = c;
            }
          }
          return evented && condition.value("status", "") == "True" &&
                 condition.value("reason", "") == reason;
        },
        kWait))
        << snapshot << " is not DeletionBlocked/" << reason << " with a Warning Event: " << object.dump(2)
        << kubectl("get events -n " + std::string(kNamespace)).output;
    EXPECT_THAT(condition.value("message", ""), HasSubstr(unblock)) << snapshot;
    EXPECT_EQ(object.value("status", json::object()).value("deletionBlockedReason", ""), reason) << snapshot;
    EXPECT_EQ(object.value("status", json::object()).value("deletable", true), false) << snapshot;
    EXPECT_TRUE(object["metadata"].contains("deletionTimestamp")) << snapshot;
    EXPECT_THAT(object["metadata"].value("finalizers", std::vector<std::string>{}),
                ::testing::Contains(kFinalizer));
    EXPECT_TRUE(libvirtTree().parents.contains(snapshot)) << snapshot << " is gone from libvirt";
  }

  // The finalizer completed: the object is gone and so is libvirt's snapshot.
  void expectDeleted(const std::string& snapshot) {
    auto gone =
        kubectl("wait --for=delete --timeout=30s -n " + std::string(kNamespace) + " snapshot/" + snapshot);
    ASSERT_EQ(gone.exitCode, 0) << snapshot << " is still there: " << gone.output
                                << get("snapshot/" + snapshot).dump(2);
    EXPECT_FALSE(libvirtTree().parents.contains(snapshot)) << snapshot << " is still on libvirt";
  }

  // While blocked deletions wait and nothing changes, the agent does not spin on them: over one
  // second (the poll period) the snapshot controller reconciles a handful of times at most.
  void expectNoHotLoop() {
    const double before = snapshotReconciles();
    std::this_thread::sleep_for(std::chrono::seconds(1));  // a window to count in, not a wait for a state
    EXPECT_LE(snapshotReconciles() - before, 3)
        << "the snapshot controller spins while deletions are blocked";
  }

  std::string domain_;
  std::string hypervisorName_;
  fs::path imageDir_;
  fs::path work_;
  int metricsPort_ = 0;
  int reverts_ = 0;
  std::unique_ptr<testsupport::AgentProcess> agent_;
};

// The three kinds on one running domain, each Ready through the agent, the tree in every status
// equal to libvirt's after each.
TEST_F(AgentOnQemu, InternalExternalWithMemoryAndExternalDiskOnlyReachReadyWithLibvirtsTree) {
  takeSnapshot("i1", kInternal);
  expectStatusTreeIsLibvirts(Tree{{{"i1", ""}}, "i1"});
  json i1 = status("snapshot/i1");
  EXPECT_EQ(i1.value("location", ""), "Internal");
  EXPECT_EQ(i1.value("memory", false), true);
  EXPECT_EQ(i1.value("domainState", ""), "Running");

  takeSnapshot("m2", kExternalWithMemory);
  expectStatusTreeIsLibvirts(Tree{{{"i1", ""}, {"m2", "i1"}}, "m2"});
  json m2 = status("snapshot/m2");
  EXPECT_EQ(m2.value("location", ""), "External");
  EXPECT_EQ(m2.value("memory", false), true);
  EXPECT_EQ(m2.value("domainState", ""), "Running");
  // The memory file libvirt wrote lies under the agent's allowed storage root.
  auto definition = virsh("snapshot-dumpxml " + hypervisorName_ + " m2");
  ASSERT_EQ(definition.exitCode, 0) << definition.output;
  EXPECT_THAT(definition.output, HasSubstr("<memory snapshot='external' file='" + imageDir_.string() + "/"));

  takeSnapshot("e3", kExternalDiskOnly);
  expectStatusTreeIsLibvirts(Tree{{{"i1", ""}, {"m2", "i1"}, {"e3", "m2"}}, "e3"});
  json e3 = status("snapshot/e3");
  EXPECT_EQ(e3.value("location", ""), "External");
  EXPECT_EQ(e3.value("memory", true), false);
  EXPECT_EQ(e3.value("domainState", ""), "DiskSnapshot");
  for (const auto& disk : e3.value("disks", json::array())) {
    EXPECT_EQ(disk.value("file", "").rfind(imageDir_.string() + "/", 0), 0u) << e3.dump(2);
  }
  EXPECT_EQ(virsh("domstate " + hypervisorName_).output.substr(0, 7), "running");

  // A revert through the agent to the external memory snapshot: current moves in every status.
  revertTo("m2");
  expectStatusTreeIsLibvirts(Tree{{{"i1", ""}, {"m2", "i1"}, {"e3", "m2"}}, "m2"});
  EXPECT_EQ(virsh("domstate " + hypervisorName_).output.substr(0, 7), "running");
}

// Every refusal of the external-snapshot rules that a Snapshot's deletion can meet (its deletion
// deletes one snapshot: the CHILDREN scopes' ExternalDescendants is not reachable through objects),
// then the step that unblocks it and the finalizer completing.
TEST_F(AgentOnQemu, EveryRefusedExternalDeletionIsDeletionBlockedUntilItsBranchGoes) {
  for (const std::string name : {"e1", "e2", "e3", "e3a"}) {
    takeSnapshot(name, kExternalDiskOnly);
  }
  revertTo("e2");
  takeSnapshot("e4", kExternalDiskOnly);
  expectStatusTreeIsLibvirts(
      Tree{{{"e1", ""}, {"e2", "e1"}, {"e3", "e2"}, {"e3a", "e3"}, {"e4", "e2"}}, "e4"});

  deleteAndExpectBlocked("e2", "ExternalWithMultipleChildren", "Delete all but one of its branches first");
  deleteAndExpectBlocked("e3", "ExternalNotInActiveChain", "delete its children first");
  expectNoHotLoop();

  // Reverting to e2 changes the tree, so both are looked at again: e2 is now the active snapshot.
  revertTo("e2");
  expectBlocked("e2", "ActiveExternalNotLeaf", "Revert to one of its children first");
  expectBlocked("e3", "ExternalNotInActiveChain", "delete its children first");

  // Deleting the other branch's leaf unblocks e3 (now a leaf off the active chain).
  auto leaf = kubectl("delete --wait=false -n " + std::string(kNamespace) + " snapshot/e3a");
  ASSERT_EQ(leaf.exitCode, 0) << leaf.output;
  expectDeleted("e3a");
  expectDeleted("e3");
  expectBlocked("e2", "ActiveExternalNotLeaf", "or delete its children first");
  // Deleting its last child (a leaf that is not current: its overlay is just removed) leaves e2 the
  // current leaf, merged away into e1.
  auto child = kubectl("delete --wait=false -n " + std::string(kNamespace) + " snapshot/e4");
  ASSERT_EQ(child.exitCode, 0) << child.output;
  expectDeleted("e4");
  expectDeleted("e2");
  expectStatusTreeIsLibvirts(Tree{{{"e1", ""}}, "e1"});

  // virtsnap's own rule: e1's overlay holds the internal snapshot i5.
  takeSnapshot("i5", kInternal);
  deleteAndExpectBlocked("e1", "ExternalWithInternalChildren", "Delete 'i5' first");
  auto internal = kubectl("delete --wait=false -n " + std::string(kNamespace) + " snapshot/i5");
  ASSERT_EQ(internal.exitCode, 0) << internal.output;
  expectDeleted("i5");
  expectDeleted("e1");  // then the current leaf, merged into the base image
  expectStatusTreeIsLibvirts(Tree{});

  // An external snapshot whose parent is internal cannot be merged into it.
  takeSnapshot("i6", kInternal);
  takeSnapshot("e7", kExternalDiskOnly);
  deleteAndExpectBlocked("e7", "ExternalWithInternalParent", "Revert to another snapshot first");
  revertTo("i6");  // e7 is a leaf that is not current now: its overlay is just removed
  expectDeleted("e7");
  expectStatusTreeIsLibvirts(Tree{{{"i6", ""}}, "i6"});
}

// The refusals the tree model cannot predict, which only libvirt's answer reveals. A memory snapshot
// taken while the domain is paused leaves QEMU's block nodes inactive until the domain resumes, and
// libvirt then refuses to merge (block-commit) the snapshot away: DeletionBlocked until the Domain's
// runState resumes it. An internal snapshot of a running domain that moved onto an external overlay:
// DeletionBlocked until a revert puts the domain back on its image.
TEST_F(AgentOnQemu, RefusalsOnlyLibvirtKnowsAreDeletionBlockedUntilTheDomainResumesOrReverts) {
  auto paused = kubectl("patch -n " + std::string(kNamespace) + " domain/" + domain_ +
                        " --type=merge -p '{\"spec\":{\"runState\":\"Paused\"}}'");
  ASSERT_EQ(paused.exitCode, 0) << paused.output;
  auto state = kubectl("wait --for=jsonpath={.status.state}=Paused --timeout=30s -n " +
                       std::string(kNamespace) + " domain/" + domain_);
  ASSERT_EQ(state.exitCode, 0) << state.output;
  takeSnapshot("m1", kExternalWithMemory);
  EXPECT_EQ(status("snapshot/m1").value("domainState", ""), "Paused");
  deleteAndExpectBlocked("m1", "PausedAfterMemorySnapshot", "Resume the domain (spec.runState: Running)");
  expectNoHotLoop();

  auto running = kubectl("patch -n " + std::string(kNamespace) + " domain/" + domain_ +
                         " --type=merge -p '{\"spec\":{\"runState\":\"Running\"}}'");
  ASSERT_EQ(running.exitCode, 0) << running.output;
  expectDeleted("m1");
  expectStatusTreeIsLibvirts(Tree{});

  takeSnapshot("i2", kInternal);
  takeSnapshot("e3", kExternalDiskOnly);
  deleteAndExpectBlocked("i2", "InternalNotInCurrentImage", "Revert to this snapshot, or stop the domain");
  revertTo("i2");
  expectDeleted("i2");
  expectStatusTreeIsLibvirts(Tree{{{"e3", ""}}, ""});
}

// libvirtd stopped and started again (scripts/stop-libvirtd.sh and start-libvirtd.sh, under the e2e lock;
// QEMU keeps running) while the agent takes six internal snapshots with memory of the running domain: the
// agent's driver reconnects on its own, and everything converges to libvirt's tree: every Snapshot
// Ready, libvirt holding exactly these six, the qcow2 image exactly one internal snapshot each (none
// taken twice, none left behind by the call the restart cut off), one "Created" Event at most each.
TEST_F(AgentOnQemu, LibvirtdRestartedWhileSnapshotsAreTakenTheTreeConverges) {
  std::vector<std::string> names;
  std::string yaml;
  for (int i = 1; i <= 6; ++i) {
    names.push_back("l" + std::to_string(i));
    yaml += "---\napiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: " + names.back() +
            "\n  namespace: " + kNamespace + "\nspec:\n  domainName: " + domain_ + "\n  location: Internal\n";
  }
  const auto start = std::chrono::steady_clock::now();
  apply(yaml);
  // The restart lands once libvirt holds the first of them, with the rest in flight.
  ASSERT_TRUE(testsupport::eventually([&] { return !libvirtTree().parents.empty(); }, kWait));
  const std::size_t takenBefore = libvirtTree().parents.size();
  const std::string source = VIRTSNAP_SOURCE_DIR;
  auto restart = testsupport::runShell("flock -o /run/virtsnap-e2e.lock sh -c 'bash " + source +
                                       "/scripts/stop-libvirtd.sh && bash " + source +
                                       "/scripts/start-libvirtd.sh' 2>&1");
  ASSERT_EQ(restart.exitCode, 0) << restart.output;
  const auto restarted = std::chrono::steady_clock::now();
  // An internal snapshot with memory pauses the guest while libvirt saves it; a restart that cuts one off
  // leaves the guest paused (seen: 1 run in 6), and the agent resumes it, its spec.runState being Running.
  std::string state;
  EXPECT_TRUE(testsupport::eventually(
      [&] {
        state = virsh("domstate " + hypervisorName_).output;
        return state.rfind("running", 0) == 0;
      },
      kWait))
      << state;

  for (const std::string& name : names) {
    waitReady("snapshot/" + name);
  }
  ASSERT_NO_FATAL_FAILURE(awaitStatusTreeIsLibvirts());
  const auto converged = std::chrono::steady_clock::now();
  std::set<std::string> inLibvirt;
  for (const auto& [name, parent] : libvirtTree().parents) {
    inLibvirt.insert(name);
  }
  EXPECT_EQ(inLibvirt, std::set<std::string>(names.begin(), names.end()));
  // The image's own list ("ID TAG VM_SIZE DATE VM_CLOCK ICOUNT" after two header lines), shared with the
  // running QEMU (-U).
  auto image = testsupport::runShell("qemu-img snapshot -l -U " + disk() + " 2>&1");
  ASSERT_EQ(image.exitCode, 0) << image.output;
  std::multiset<std::string> inImage;
  std::istringstream lines(image.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id;
    std::string tag;
    if (fields >> id >> tag && !id.empty() && std::isdigit(static_cast<unsigned char>(id[0]))) {
      inImage.insert(tag);
    }
  }
  EXPECT_EQ(inImage, std::multiset<std::string>(names.begin(), names.end())) << image.output;
  std::map<std::string, int> created;
  for (const auto& item : get("events").value("items", json::array())) {
    if (item.value("reason", "") == "Created") {
      created[item.value("involvedObject", json::object()).value("name", "")] += item.value("count", 1);
    }
  }
  for (const std::string& name : names) {
    EXPECT_LE(created[name], 1) << name << " was taken more than once";
  }
  using Ms = std::chrono::milliseconds;
  std::cout << "[libvirtd restart] " << takenBefore
            << " of 6 taken when libvirtd was stopped; restarted after "
            << std::chrono::duration_cast<Ms>(restarted - start).count()
            << " ms (with the restart), converged "
            << std::chrono::duration_cast<Ms>(converged - restarted).count() << " ms later" << std::endl;
}

}  // namespace
}  // namespace virtsnap
