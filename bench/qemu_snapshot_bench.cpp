// Real QEMU (issue 14, 1e): N internal snapshots with memory of a running domain, created one after
// the other and then deleted one after the other (oldest first, or newest first with --delete-order
// newest), three ways, in one run:
//  agent   the real virtsnap-controller binary (--standalone, against qemu:///system), driven as a user
//          drives it: a Snapshot object created, then awaited Ready on a watch; deleted, awaited gone;
//  C API   virDomainSnapshotCreateXML / virDomainSnapshotDelete on one connection, with the XML and the
//          flags the agent's driver sends (rendered by drivers/libvirt's renderSnapshotXml);
//  virsh   `virsh snapshot-create-as <dom> <name>` / `virsh snapshot-delete <dom> <name>`, a process per
//          operation, as users script it today.
// Each way has its own domain, defined from the same Domain spec (the agent's translation and
// renderer): 64 MiB, SeaBIOS, a 16 MiB qcow2 under /var/lib/virtsnap-e2e/<domain>/ (tests/e2e/README.md),
// type kvm when /dev/kvm exists, else qemu (TCG); the type used is printed. All three run before any
// figure is taken (each takes and deletes one snapshot unmeasured). Then --rounds rounds: each round runs
// the three ways one after the other, the order rotated by one per round (3 rounds: each way once first,
// once second, once last), and every round is reported apart, then all rounds together.
//
// Per operation: the time the user waits (agent: from the request until the watch shows Ready or gone;
// C API: the call; virsh: the process). Where the agent's time goes comes from its own /metrics, read
// around each of its phases: virtsnap_hypervisor_operation_duration_seconds (the metered driver's
// per-operation libvirt latency), controller_runtime_reconcile_time_seconds, rest_client_request_duration
// and the workqueue's queue time; its CPU time from /proc.
//
// The whole run holds /run/virtsnap-e2e.lock (as the e2e tests do around libvirtd) so that no other QEMU
// test shares the daemon with it. A plain executable, for the reasons agent_e2e_bench.cpp gives.
//
// The delete order matters to the agent alone: deleting the oldest (the root of the chain) moves every
// other snapshot up one level, and each Snapshot's status.depth with it, so the agent rewrites every
// remaining Snapshot's status (N-1, N-2, ... writes); deleting the newest changes only its parent's.
//
//   build/bench/virtsnap_bench_qemu_snapshots [--n 100] [--rounds 3] [--delete-order oldest|newest]
//                                             [--agent-flag FLAG]... (each passed to the agent)

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "bench/bench_support.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/libvirt/snapshot_xml.h"
#include "reconcilers/domain_translation.h"
#include "tests/support/agent_process.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using virtsnap::bench::Clock;
using virtsnap::bench::fixed;
using virtsnap::bench::printRow;
using virtsnap::bench::quantile;
using virtsnap::bench::secondsSince;
using virtsnap::testsupport::runShell;

const fs::path kRoot = "/var/lib/virtsnap-e2e";
constexpr const char* kLockFile = "/run/virtsnap-e2e.lock";
constexpr const char* kUri = "qemu:///system";
constexpr const char* kVirsh = "virsh -q -c qemu:///system ";
constexpr const char* kNode = "bench-node";
constexpr const char* kNamespace = "bench";
constexpr std::chrono::seconds kOperationLimit{120};

// The ways, as indexes into the tables below.
constexpr std::size_t kAgentWay = 0;
constexpr std::size_t kCApiWay = 1;
constexpr std::size_t kVirshWay = 2;
constexpr std::size_t kWays = 3;
const std::array<const char*, kWays> kWayNames{"agent", "C API", "virsh"};
const std::array<const char*, kWays> kDomainNames{"vs-bench-agent", "vs-bench-capi", "vs-bench-virsh"};

std::string diskOf(const std::string& domain) {
  return (kRoot / domain / "disk.qcow2").string();
}

// Whatever an earlier (interrupted) run left of `domain`: the domain, its snapshots' metadata, its files.
void removeDomain(const std::string& domain) {
  runShell(kVirsh + std::string("destroy ") + domain + " >/dev/null 2>&1");
  runShell(kVirsh + std::string("undefine ") + domain + " --snapshots-metadata --nvram >/dev/null 2>&1");
  std::error_code ignored;
  fs::remove_all(kRoot / domain, ignored);
}

// A fresh 16 MiB qcow2 in a directory libvirt's QEMU user can traverse.
void makeImage(const std::string& domain) {
  removeDomain(domain);
  fs::create_directories(kRoot / domain);
  fs::permissions(kRoot / domain, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  auto image = runShell("qemu-img create -q -f qcow2 " + diskOf(domain) + " 16M 2>&1");
  if (image.exitCode != 0) {
    throw std::runtime_error("qemu-img: " + image.output);
  }
}

// The Domain every way's domain is defined from.
virtsnap::crds::Domain domainObject(const std::string& hypervisorName, const std::string& type) {
  virtsnap::crds::Domain domain;
  domain.metadata.name = hypervisorName;
  domain.metadata.namespaceName = kNamespace;
  domain.spec.nodeName = kNode;
  domain.spec.hypervisorName = hypervisorName;
  domain.spec.type = type;
  domain.spec.vcpus = 1;
  domain.spec.memory = virtsnap::meta::Quantity::parse("64Mi").value();
  domain.spec.os = virtsnap::crds::DomainOs{"x86_64", "pc", std::nullopt};
  virtsnap::crds::Disk disk;
  disk.name = "vda";
  disk.source = virtsnap::crds::DiskSource{diskOf(hypervisorName)};
  domain.spec.disks = std::vector<virtsnap::crds::Disk>{disk};
  return domain;
}

// The request the agent's snapshot reconciler makes of a Snapshot with only spec.domainName: internal,
// with memory.
virtsnap::drivers::SnapshotRequest requestFor(const std::string& name) {
  virtsnap::drivers::SnapshotRequest request;
  request.name = name;
  request.location = virtsnap::drivers::SnapshotLocation::Internal;
  request.memory = true;
  return request;
}

// How many snapshots libvirt holds for `domain` (-1: unreadable).
int libvirtSnapshotCount(const std::string& domain) {
  auto run = runShell(kVirsh + std::string("snapshot-list ") + domain + " --name 2>&1");
  if (run.exitCode != 0) {
    return -1;
  }
  int count = 0;
  std::istringstream in(run.output);
  for (std::string line; std::getline(in, line);) {
    count += line.empty() ? 0 : 1;
  }
  return count;
}

// ---- the three ways -------------------------------------------------------------------------------

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string domain() const = 0;
  // One operation; its time as the user sees it, in seconds.
  virtual double create(const std::string& name) = 0;
  virtual double remove(const std::string& name) = 0;
};

// The raw C API on one connection.
class CApiRunner final : public Runner {
 public:
  explicit CApiRunner(std::string domain) : domain_(std::move(domain)) {
    connection_ = virConnectOpen(kUri);
    if (connection_ == nullptr) {
      throw std::runtime_error(std::string("virConnectOpen: ") + virGetLastErrorMessage());
    }
    handle_ = virDomainLookupByName(connection_, domain_.c_str());
    if (handle_ == nullptr) {
      throw std::runtime_error(std::string("virDomainLookupByName: ") + virGetLastErrorMessage());
    }
  }
  ~CApiRunner() override {
    virDomainFree(handle_);
    virConnectClose(connection_);
  }
  CApiRunner(const CApiRunner&) = delete;
  CApiRunner& operator=(const CApiRunner&) = delete;

  std::string domain() const override { return domain_; }

  double create(const std::string& name) override {
    const auto start = Clock::now();
    // The agent's driver renders, then creates with ATOMIC (and DISK_ONLY only for external disk-only).
    auto xml = virtsnap::drivers::libvirt::renderSnapshotXml(requestFor(name));
    if (!xml) {
      throw std::runtime_error("renderSnapshotXml: " + xml.error().message);
    }
    virDomainSnapshotPtr made =
        virDomainSnapshotCreateXML(handle_, xml.value().c_str(), VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
    if (made == nullptr) {
      throw std::runtime_error("virDomainSnapshotCreateXML " + name + ": " + virGetLastErrorMessage());
    }
    virDomainSnapshotFree(made);
    return secondsSince(start);
  }

  double remove(const std::string& name) override {
    const auto start = Clock::now();
    virDomainSnapshotPtr snapshot = virDomainSnapshotLookupByName(handle_, name.c_str(), 0);
    if (snapshot == nullptr || virDomainSnapshotDelete(snapshot, 0) < 0) {
      const std::string message = virGetLastErrorMessage();
      if (snapshot != nullptr) {
        virDomainSnapshotFree(snapshot);
      }
      throw std::runtime_error("virDomainSnapshotDelete " + name + ": " + message);
    }
    virDomainSnapshotFree(snapshot);
    return secondsSince(start);
  }

 private:
  std::string domain_;
  virConnectPtr connection_ = nullptr;
  virDomainPtr handle_ = nullptr;
};

// A `virsh` process per operation, through a shell, as a script's loop runs it.
class VirshRunner final : public Runner {
 public:
  explicit VirshRunner(std::string domain) : domain_(std::move(domain)) {}
  std::string domain() const override { return domain_; }
  double create(const std::string& name) override {
    return run("snapshot-create-as " + domain_ + " " + name);
  }
  double remove(const std::string& name) override { return run("snapshot-delete " + domain_ + " " + name); }

 private:
  double run(const std::string& arguments) {
    const auto start = Clock::now();
    auto result = runShell(kVirsh + arguments);
    const double seconds = secondsSince(start);
    if (result.exitCode != 0) {
      throw std::runtime_error("virsh " + arguments + ": " + result.output);
    }
    return seconds;
  }
  std::string domain_;
};

// The real agent, standalone on qemu:///system, its Domain object applied through its API server.
class AgentRunner final : public Runner {
 public:
  AgentRunner(const std::string& type, const std::vector<std::string>& agentFlags)
      : domain_(kDomainNames[kAgentWay]),
        work_(fs::temp_directory_path() / ("virtsnap-bench-qemu-" + std::to_string(::getpid()))) {
    fs::remove_all(work_);
    fs::create_directories(work_);
    metricsPort_ = virtsnap::bench::freeLoopbackPort();
    agent_ = std::make_unique<virtsnap::testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY,
                                                                   work_ / "agent.log");
    std::vector<std::string> flags{"--standalone",
                                   "--data-dir",
                                   (work_ / "data").string(),
                                   "--crd-dir",
                                   std::string(VIRTSNAP_SOURCE_DIR) + "/crds",
                                   "--node-name",
                                   kNode,
                                   "--libvirt-uri",
                                   kUri,
                                   "--allowed-storage-root",
                                   (kRoot / domain_).string(),
                                   "--metrics-bind-address",
                                   "127.0.0.1:" + std::to_string(metricsPort_),
                                   "--health-probe-bind-address",
                                   "0"};
    flags.insert(flags.end(), agentFlags.begin(), agentFlags.end());
    if (!agent_->start(flags)) {
      throw std::runtime_error("cannot start the agent");
    }
    const fs::path kubeconfig = work_ / "data" / "kubeconfig";
    if (!virtsnap::testsupport::eventually([&] { return fs::exists(kubeconfig); }, 60s, 20ms)) {
      throw std::runtime_error("the agent wrote no kubeconfig:\n" + agent_->output());
    }
    pid_ = virtsnap::bench::descendantPid(VIRTSNAP_CONTROLLER_BINARY, 1);
    auto config = virtsnap::kube::loadKubeconfig({kubeconfig.string()});
    if (!config) {
      throw std::runtime_error("kubeconfig: " + config.error());
    }
    virtsnap::kube::RestClientOptions options;
    options.qps = 0;
    options.userAgent = "virtsnap-bench";
    auto client = virtsnap::kube::makeHttpApiClient(config.value(), options);
    if (!client) {
      throw std::runtime_error(client.error().message);
    }
    client_ = client.value();
    const auto& namespaces = virtsnap::meta::resources::namespaces();
    if (!virtsnap::testsupport::eventually([&] { return client_->list(namespaces, "", {}).has_value(); }, 60s,
                                           50ms)) {
      throw std::runtime_error("the agent's API server never answered:\n" + agent_->output());
    }
    auto made = client_->create(
        namespaces, {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}}, {});
    if (!made) {
      throw std::runtime_error("Namespace: " + made.error().message);
    }
    auto domain =
        virtsnap::kube::TypedClient<virtsnap::crds::Domain>(client_).create(domainObject(domain_, type));
    if (!domain) {
      throw std::runtime_error("Domain: " + domain.error().message);
    }
    if (!virtsnap::testsupport::eventually(
            [&] {
              auto got =
                  client_->get(virtsnap::meta::Resource<virtsnap::crds::Domain>::type(), kNamespace, domain_);
              return got && virtsnap::bench::readyCondition(got.value()) &&
                     got.value()["status"].value("state", "") == "Running";
            },
            120s, 50ms)) {
      throw std::runtime_error("the Domain never became Ready and Running:\n" + agent_->output());
    }
    watcher_ = std::make_unique<virtsnap::bench::SnapshotWatcher>(client_, kNamespace);
  }
  ~AgentRunner() override {
    watcher_.reset();
    client_.reset();
    if (agent_) {
      agent_->kill();  // before the domain goes, or the agent would define it again
    }
    std::error_code ignored;
    fs::remove_all(work_, ignored);
  }
  AgentRunner(const AgentRunner&) = delete;
  AgentRunner& operator=(const AgentRunner&) = delete;

  std::string domain() const override { return domain_; }
  pid_t pid() const { return pid_; }
  std::string metrics() const { return virtsnap::bench::scrapeMetrics(metricsPort_); }

  double create(const std::string& name) override {
    const auto start = Clock::now();
    auto created = client_->create(virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type(),
                                   {{"apiVersion", "virtsnap.io/v1alpha1"},
                                    {"kind", "Snapshot"},
                                    {"metadata", {{"name", name}, {"namespace", kNamespace}}},
                                    {"spec", {{"domainName", domain_}}}},
                                   {});
    if (!created) {
      throw std::runtime_error("Snapshot " + name + ": " + created.error().message);
    }
    auto ready = watcher_->awaitReady(name, kOperationLimit);
    if (!ready) {
      throw std::runtime_error("Snapshot " + name + " not Ready within " +
                               std::to_string(kOperationLimit.count()) + " s:\n" + agent_->output());
    }
    return std::chrono::duration<double>(*ready - start).count();
  }

  double remove(const std::string& name) override {
    const auto start = Clock::now();
    auto removed =
        client_->remove(virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type(), kNamespace, name, {});
    if (!removed) {
      throw std::runtime_error("deleting Snapshot " + name + ": " + removed.error().message);
    }
    auto gone = watcher_->awaitGone(name, kOperationLimit);
    if (!gone) {
      throw std::runtime_error("Snapshot " + name + " not gone within " +
                               std::to_string(kOperationLimit.count()) + " s:\n" + agent_->output());
    }
    return std::chrono::duration<double>(*gone - start).count();
  }

 private:
  std::string domain_;
  fs::path work_;
  int metricsPort_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<virtsnap::testsupport::AgentProcess> agent_;
  virtsnap::kube::ApiClientPtr client_;
  std::unique_ptr<virtsnap::bench::SnapshotWatcher> watcher_;
};

// ---- the agent's own account of a phase -----------------------------------------------------------

// Sums read off the agent's /metrics (and its CPU time) at one moment.
struct AgentReading {
  std::map<std::string, double> values;
  double cpu = 0;
};

// The metered driver's operations counted one by one in the breakdown (which calls an operation costs).
const std::vector<std::string>& countedOperations() {
  static const std::vector<std::string> kOperations{
      "create_snapshot",  "delete_snapshot", "describe_snapshots", "list_snapshot_shape",
      "current_snapshot", "lookup_domain",   "definition",         "state",
      "read_revert_mark", "guest_offers"};
  return kOperations;
}

std::string operationLabel(const std::string& operation) {
  return "operation=\"" + operation + "\"";
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& agentSeries() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kSeries = [] {
    std::vector<std::pair<std::string, std::vector<std::string>>> series{
        {"virtsnap_hypervisor_operation_duration_seconds_sum", {}},
        {"virtsnap_hypervisor_operation_duration_seconds_count", {}},
        {"controller_runtime_reconcile_time_seconds_sum", {"controller=\"snapshot\""}},
        {"controller_runtime_reconcile_time_seconds_count", {"controller=\"snapshot\""}},
        {"controller_runtime_reconcile_time_seconds_sum", {"controller=\"domain\""}},
        {"controller_runtime_reconcile_time_seconds_count", {"controller=\"domain\""}},
        {"workqueue_queue_duration_seconds_sum", {"name=\"snapshot\""}},
        {"rest_client_request_duration_seconds_sum", {}},
        {"rest_client_request_duration_seconds_count", {}},
    };
    // Time spent: the operations the breakdown names; calls: every counted one.
    for (const char* timed :
         {"create_snapshot", "delete_snapshot", "list_snapshot_shape", "describe_snapshots"}) {
      series.push_back({"virtsnap_hypervisor_operation_duration_seconds_sum", {operationLabel(timed)}});
    }
    for (const std::string& operation : countedOperations()) {
      series.push_back({"virtsnap_hypervisor_operation_duration_seconds_count", {operationLabel(operation)}});
    }
    return series;
  }();
  return kSeries;
}

std::string seriesKey(const std::string& family, const std::vector<std::string>& labels) {
  return family + (labels.empty() ? "" : "{" + labels.front() + "}");
}

AgentReading readAgent(const AgentRunner& agent) {
  AgentReading reading;
  const std::string text = agent.metrics();
  if (text.empty()) {
    throw std::runtime_error("the agent's /metrics did not answer");
  }
  for (const auto& [family, labels] : agentSeries()) {
    reading.values[seriesKey(family, labels)] = virtsnap::bench::metricSum(text, family, labels);
  }
  reading.cpu = virtsnap::bench::cpuSeconds(agent.pid());
  return reading;
}

AgentReading operator-(const AgentReading& after, const AgentReading& before) {
  AgentReading delta;
  for (const auto& [key, value] : after.values) {
    delta.values[key] = value - before.values.at(key);
  }
  delta.cpu = after.cpu - before.cpu;
  return delta;
}

// ---- a round --------------------------------------------------------------------------------------

struct Phase {
  std::vector<double> seconds;  // per operation
  double wall = 0;
  std::optional<AgentReading> agent;  // the agent's phases only
};

struct WayResult {
  Phase create;
  Phase remove;
};

struct Round {
  std::array<std::size_t, kWays> order{};
  std::array<WayResult, kWays> ways;
};

std::string snapshotName(int round, int i) {
  return "r" + std::to_string(round) + "-s" + std::to_string(i);
}

Phase runPhase(Runner& runner, AgentRunner* agent, int round, int n, bool create, bool newestFirst) {
  Phase phase;
  std::optional<AgentReading> before;
  if (agent != nullptr) {
    before = readAgent(*agent);
  }
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string name = snapshotName(round, create || !newestFirst ? i : n - 1 - i);
    phase.seconds.push_back(create ? runner.create(name) : runner.remove(name));
  }
  phase.wall = secondsSince(start);
  if (agent != nullptr) {
    phase.agent = readAgent(*agent) - *before;
  }
  const int expected = create ? n : 0;
  if (const int held = libvirtSnapshotCount(runner.domain()); held != expected) {
    throw std::runtime_error(runner.domain() + " holds " + std::to_string(held) + " snapshots, not " +
                             std::to_string(expected));
  }
  return phase;
}

// ---- tables ---------------------------------------------------------------------------------------

const std::vector<int> kWidths{30, 9, 9, 9, 9, 9, 9, 10};

void printPhaseRows(const std::string& label, const std::array<const Phase*, kWays>& phases) {
  for (std::size_t way = 0; way < kWays; ++way) {
    const Phase& phase = *phases[way];
    printRow({label + " " + kWayNames[way], fixed(1000 * quantile(phase.seconds, 0.5), 1),
              fixed(1000 * quantile(phase.seconds, 0.9), 1), fixed(1000 * quantile(phase.seconds, 0), 1),
              fixed(1000 * quantile(phase.seconds, 1), 1), fixed(phase.wall, 2)},
             kWidths);
  }
}

std::vector<double> pooled(const std::vector<Round>& rounds, std::size_t way, bool create) {
  std::vector<double> all;
  for (const Round& round : rounds) {
    const Phase& phase = create ? round.ways[way].create : round.ways[way].remove;
    all.insert(all.end(), phase.seconds.begin(), phase.seconds.end());
  }
  return all;
}

double pooledWall(const std::vector<Round>& rounds, std::size_t way, bool create) {
  double wall = 0;
  for (const Round& round : rounds) {
    wall += create ? round.ways[way].create.wall : round.ways[way].remove.wall;
  }
  return wall;
}

std::string verdict(bool met) {
  return met ? "met" : "MISSED";
}

void printAgentBreakdown(const std::string& label, const std::vector<Round>& rounds, bool create) {
  AgentReading sum;
  double endToEnd = 0;
  std::size_t operations = 0;
  for (const Round& round : rounds) {
    const Phase& phase = create ? round.ways[kAgentWay].create : round.ways[kAgentWay].remove;
    for (const auto& [key, value] : phase.agent->values) {
      sum.values[key] += value;
    }
    sum.cpu += phase.agent->cpu;
    for (double seconds : phase.seconds) {
      endToEnd += seconds;
    }
    operations += phase.seconds.size();
  }
  const auto per = [&](double total) { return fixed(1000 * total / static_cast<double>(operations), 1); };
  const auto value = [&](const std::string& family, const std::string& match) {
    return sum.values.at(
        seriesKey(family, match.empty() ? std::vector<std::string>{} : std::vector<std::string>{match}));
  };
  const std::string op = create ? "operation=\"create_snapshot\"" : "operation=\"delete_snapshot\"";
  const double call = value("virtsnap_hypervisor_operation_duration_seconds_sum", op);
  const double shape =
      value("virtsnap_hypervisor_operation_duration_seconds_sum", "operation=\"list_snapshot_shape\"");
  const double describe =
      value("virtsnap_hypervisor_operation_duration_seconds_sum", "operation=\"describe_snapshots\"");
  const double allCalls = value("virtsnap_hypervisor_operation_duration_seconds_sum", "");
  const double snapshotReconcile =
      value("controller_runtime_reconcile_time_seconds_sum", "controller=\"snapshot\"");
  const double domainReconcile =
      value("controller_runtime_reconcile_time_seconds_sum", "controller=\"domain\"");
  const double queued = value("workqueue_queue_duration_seconds_sum", "name=\"snapshot\"");
  const double requests = value("rest_client_request_duration_seconds_sum", "");
  std::cout << "  " << label << " (" << operations << " operations; mean ms per operation):\n";
  const std::vector<int> widths{58, 9};
  printRow({"    seen by the user (request -> watch event)", per(endToEnd)}, widths);
  printRow({std::string("    libvirt ") + (create ? "create_snapshot (CreateXML + GetXMLDesc)"
                                                  : "delete_snapshot (LookupByName + Delete)"),
            per(call)},
           widths);
  printRow({"    libvirt list_snapshot_shape (view refresh)", per(shape)}, widths);
  printRow({"    libvirt describe_snapshots (view refresh)", per(describe)}, widths);
  printRow({"    libvirt, every other call", per(allCalls - call - shape - describe)}, widths);
  printRow({"    libvirt calls, all (" +
                fixed(value("virtsnap_hypervisor_operation_duration_seconds_count", "") /
                          static_cast<double>(operations),
                      1) +
                " per operation)",
            per(allCalls)},
           widths);
  std::string calls;
  for (const std::string& operation : countedOperations()) {
    const double count =
        value("virtsnap_hypervisor_operation_duration_seconds_count", operationLabel(operation));
    if (count > 0) {
      calls +=
          (calls.empty() ? "" : ", ") + operation + " " + fixed(count / static_cast<double>(operations), 1);
    }
  }
  std::cout << "    libvirt calls per operation, by kind: " << (calls.empty() ? "none" : calls) << "\n";
  printRow({"    snapshot reconciles (" +
                fixed(value("controller_runtime_reconcile_time_seconds_count", "controller=\"snapshot\"") /
                          static_cast<double>(operations),
                      1) +
                " per operation)",
            per(snapshotReconcile)},
           widths);
  printRow({"    domain reconciles (" +
                fixed(value("controller_runtime_reconcile_time_seconds_count", "controller=\"domain\"") /
                          static_cast<double>(operations),
                      1) +
                " per operation; overlap the next operation)",
            per(domainReconcile)},
           widths);
  printRow({"    snapshot queue wait", per(queued)}, widths);
  printRow(
      {"    API requests (" +
           fixed(value("rest_client_request_duration_seconds_count", "") / static_cast<double>(operations),
                 1) +
           " per operation, both controllers)",
       per(requests)},
      widths);
  printRow(
      {"    seen by the user - libvirt's own call - view refresh", per(endToEnd - call - shape - describe)},
      widths);
  printRow({"    agent CPU", per(sum.cpu)}, widths);
}

void printResults(const std::vector<Round>& rounds, int n, const std::string& type, bool newestFirst) {
  std::cout << "\n(e) " << n << " internal snapshots with memory of a running domain (" << type
            << (type == "kvm" ? ", KVM" : ", TCG: no /dev/kvm")
            << ", 64 MiB, SeaBIOS), created one after the other, then deleted "
            << (newestFirst ? "newest" : "oldest")
            << " first; "
               "per operation in ms\n";
  printRow({"", "median", "p90", "min", "max", "total s"}, kWidths);
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    std::cout << "round " << r + 1 << ", order:";
    for (std::size_t way : rounds[r].order) {
      std::cout << " " << kWayNames[way];
    }
    std::cout << "\n";
    std::array<const Phase*, kWays> creates{};
    std::array<const Phase*, kWays> removes{};
    for (std::size_t way = 0; way < kWays; ++way) {
      creates[way] = &rounds[r].ways[way].create;
      removes[way] = &rounds[r].ways[way].remove;
    }
    printPhaseRows("  create", creates);
    printPhaseRows("  delete", removes);
  }

  std::cout << "\nall rounds (" << rounds.size() * static_cast<std::size_t>(n)
            << " operations of each kind per way):\n";
  printRow({"", "create", "create", "delete", "delete", "total s"}, kWidths);
  printRow({"", "median", "p90", "median", "p90", ""}, kWidths);
  std::array<std::array<double, 4>, kWays> figures{};
  std::array<double, kWays> totals{};
  for (std::size_t way = 0; way < kWays; ++way) {
    const auto creates = pooled(rounds, way, true);
    const auto removes = pooled(rounds, way, false);
    figures[way] = {quantile(creates, 0.5), quantile(creates, 0.9), quantile(removes, 0.5),
                    quantile(removes, 0.9)};
    totals[way] = pooledWall(rounds, way, true) + pooledWall(rounds, way, false);
    printRow({std::string("  ") + kWayNames[way], fixed(1000 * figures[way][0], 1),
              fixed(1000 * figures[way][1], 1), fixed(1000 * figures[way][2], 1),
              fixed(1000 * figures[way][3], 1), fixed(totals[way], 2)},
             kWidths);
  }
  const auto ratioRow = [&](const std::string& label, std::size_t other) {
    std::vector<std::string> cells{label};
    for (std::size_t i = 0; i < 4; ++i) {
      cells.push_back(fixed(figures[kAgentWay][i] / figures[other][i], 2) + "x");
    }
    cells.push_back(fixed(totals[kAgentWay] / totals[other], 2) + "x");
    printRow(cells, kWidths);
  };
  ratioRow("  agent / C API", kCApiWay);
  ratioRow("  agent / virsh", kVirshWay);
  const bool withinCApi = figures[kAgentWay][0] <= 1.2 * figures[kCApiWay][0] &&
                          figures[kAgentWay][2] <= 1.2 * figures[kCApiWay][2];
  const bool fasterThanVirsh =
      figures[kAgentWay][0] < figures[kVirshWay][0] && figures[kAgentWay][2] < figures[kVirshWay][2];
  std::cout << "  bar agent <= 1.2x C API per operation (medians): " << verdict(withinCApi)
            << "; bar agent faster than virsh per operation (medians): " << verdict(fasterThanVirsh) << "\n";

  std::cout << "\nwhere the agent's time goes (its /metrics and /proc, all rounds):\n";
  printAgentBreakdown("create", rounds, true);
  printAgentBreakdown("delete", rounds, false);
}

// ---- the run --------------------------------------------------------------------------------------

// Holds /run/virtsnap-e2e.lock for the bench's life (close-on-exec: libvirtd, started under it, must
// not keep it).
class E2eLock {
 public:
  E2eLock() {
    fd_ = ::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw std::runtime_error(std::string("open ") + kLockFile + ": " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      std::cout << "waiting for " << kLockFile << " (another QEMU test or bench holds it)" << std::endl;
      if (::flock(fd_, LOCK_EX) != 0) {
        throw std::runtime_error(std::string("flock: ") + std::strerror(errno));
      }
    }
  }
  ~E2eLock() { ::close(fd_); }
  E2eLock(const E2eLock&) = delete;
  E2eLock& operator=(const E2eLock&) = delete;

 private:
  int fd_ = -1;
};

// A domain for the C API and virsh ways, defined as the agent defines its own: the same Domain object
// through the agent's translation and LibvirtDriver's renderer; started.
void defineAndStart(const std::string& name, const std::string& type) {
  makeImage(name);
  virtsnap::drivers::libvirt::LibvirtDriverOptions options;
  options.uri = kUri;
  options.storageRoots = {kRoot / name};
  virtsnap::drivers::libvirt::LibvirtDriver driver(options);
  auto spec = virtsnap::reconcilers::translateDomain(domainObject(name, type),
                                                     virtsnap::drivers::StorageRoots({kRoot / name}), {});
  if (!spec) {
    throw std::runtime_error("translateDomain: " + spec.error());
  }
  if (auto defined = driver.defineDomain(spec.value()); !defined) {
    throw std::runtime_error("define " + name + ": " + defined.error().message);
  }
  if (auto failed = driver.start(name)) {
    throw std::runtime_error("start " + name + ": " + failed->message);
  }
}

int run(int n, int roundCount, bool newestFirst, const std::vector<std::string>& agentFlags) {
  E2eLock lock;
  const std::string start = "bash " + std::string(VIRTSNAP_SOURCE_DIR) + "/scripts/start-libvirtd.sh 2>&1";
  if (auto started = runShell(start); started.exitCode != 0) {
    throw std::runtime_error("start-libvirtd.sh: " + started.output);
  }
  fs::create_directories(kRoot);
  fs::permissions(kRoot, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  const std::string type = fs::exists("/dev/kvm") ? "kvm" : "qemu";
  std::cout << "domain type: " << type << (type == "kvm" ? " (/dev/kvm present)" : " (TCG: no /dev/kvm)")
            << "; libvirt " << runShell(kVirsh + std::string("version --daemon 2>&1 | tail -1")).output;

  struct Cleanup {
    ~Cleanup() {
      for (const char* domain : kDomainNames) {
        removeDomain(domain);
      }
    }
  } cleanup;
  makeImage(kDomainNames[kAgentWay]);
  defineAndStart(kDomainNames[kCApiWay], type);
  defineAndStart(kDomainNames[kVirshWay], type);
  AgentRunner agent(type, agentFlags);
  CApiRunner capi(kDomainNames[kCApiWay]);
  VirshRunner virsh(kDomainNames[kVirshWay]);
  std::array<Runner*, kWays> runners{&agent, &capi, &virsh};

  // Every way once, unmeasured: the first snapshot of each domain and every code path warm.
  for (Runner* runner : runners) {
    runner->create("warm");
    runner->remove("warm");
  }

  std::vector<Round> rounds;
  for (int r = 0; r < roundCount; ++r) {
    Round round;
    for (std::size_t i = 0; i < kWays; ++i) {
      round.order[i] = (i + static_cast<std::size_t>(r)) % kWays;
    }
    for (std::size_t way : round.order) {
      AgentRunner* metered = way == kAgentWay ? &agent : nullptr;
      round.ways[way].create = runPhase(*runners[way], metered, r + 1, n, true, newestFirst);
      round.ways[way].remove = runPhase(*runners[way], metered, r + 1, n, false, newestFirst);
      std::cout << "round " << r + 1 << ": " << kWayNames[way] << " done ("
                << fixed(round.ways[way].create.wall, 1) << " s + " << fixed(round.ways[way].remove.wall, 1)
                << " s)" << std::endl;
    }
    rounds.push_back(std::move(round));
  }
  printResults(rounds, n, type, newestFirst);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int n = 100;
  int rounds = 3;
  bool newestFirst = false;
  std::vector<std::string> agentFlags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--n" && i + 1 < args.size()) {
      n = std::stoi(args[++i]);
    } else if (args[i] == "--rounds" && i + 1 < args.size()) {
      rounds = std::stoi(args[++i]);
    } else if (args[i] == "--delete-order" && i + 1 < args.size() &&
               (args[i + 1] == "oldest" || args[i + 1] == "newest")) {
      newestFirst = args[++i] == "newest";
    } else if (args[i] == "--agent-flag" && i + 1 < args.size()) {
      agentFlags.push_back(args[++i]);
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--n 100] [--rounds 3] [--delete-order oldest|newest] [--agent-flag FLAG]...\n";
      return 2;
    }
  }
  if (n < 1 || rounds < 1) {
    std::cerr << "--n and --rounds must be at least 1\n";
    return 2;
  }
  try {
    run(n, rounds, newestFirst, agentFlags);
  } catch (const std::exception& error) {
    std::cerr << "bench failed: " << error.what() << "\n";
    return 1;
  }
  std::cout << "\nrerun: " << virtsnap::bench::commandLine(argc, argv) << "\n";
  return 0;
}
