// The real agent binary (virtsnap-controller) end to end, against the floor measured in the same run.
// This process hosts the API server (tests/support EmbeddedApiServer, the durable store as the
// standalone binary runs it, behind its HTTPS front) and so counts every request and write on the
// server side (ApiHandler's RequestCounter by User-Agent, WriteCounter); the agent is a child process on
// libvirt's test driver in its own process (test:///default), its CPU time and memory read from
// /proc/<pid>. The floors run as child processes of their own (this binary with --floor-*), so their CPU
// time is theirs alone.
//
// Scenarios (each prints a table and the command that reruns it):
//  snapshots: N Snapshots of one Domain created at once (one client, back to back) until the server
//    holds all N Ready; wall time, the agent's requests and writes per snapshot (leases apart), its CPU
//    time and peak RSS; the floor: the same N createSnapshot calls through LibvirtDriver on
//    test:///default (one process, one thread), plus the minimum API work on the same server from
//    one client (N creates + N status writes carrying the agent's own statuses), and the ratios.
//    Also the agent's RSS idle and per cached object (its RSS once converged, minus idle, over N; and
//    the same less the test driver's own memory per snapshot, measured in the libvirt floor, since in a
//    deployment that memory is libvirtd's).
//  domains: 100 Domains (--domains DxK) with 20 Snapshots each, every Snapshot created at once (round
//    robin over the Domains) until all are Ready; the same figures, the libvirt floor spreading its
//    creates over as many domains. One domain's operations run one at a time; different domains'
//    run in parallel (the workers), so this shows the concurrency the single-domain burst cannot.
//  steady: 20 snapshots converged under --resync-period 2 (and --poll-period 2), then the writes and
//    the agent's CPU over 3 periods; the reconciles in that window show the resyncs ran.
//
// A plain executable, not Google Benchmark: one measurement is a whole process's life (minutes at
// N=10,000), repeated iterations would measure a different state each time (the tree grows), and the
// figures are counts read off the server and /proc, not a timed loop.
//
//   build/bench/virtsnap_bench_agent_e2e [--n 100,1000] [--domains 100x20]
//                                        [--scenarios snapshots,domains,steady] [--memory-store]
//                                        [--agent-flag FLAG]... (each passed to the agent, e.g.
//                                        --agent-flag --kube-api-qps=0)
//                                        [--agent-libvirt-uri URI] (test:///default: the test driver
//                                        in the agent's process; test+unix:///default: hosted by the
//                                        libvirtd of scripts/start-libvirtd.sh, as deployments run)
//                                        [--agent-wrapper "COMMAND ARGS"] (the agent run under it, e.g.
//                                        "heaptrack -o /tmp/agent"; its pid is found among our
//                                        descendants)
//                                        [--agent-kill] (ended with SIGKILL once measured, so a heap
//                                        profiler reports what it held at convergence as leaked)
//                                        [--on-converged "COMMAND"] (a shell command run at idle and
//                                        once the burst converged, before the floors, {pid} replaced
//                                        by the agent's pid, e.g. "bash bench/agent_memory_probe.sh
//                                        {pid}")

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/bench_support.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/agent_process.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace {

using namespace std::chrono_literals;
using virtsnap::bench::Clock;
using virtsnap::bench::cpuSeconds;
using virtsnap::bench::fixed;
using virtsnap::bench::freeLoopbackPort;
using virtsnap::bench::printRow;
using virtsnap::bench::readyCondition;
using virtsnap::bench::secondsSince;
using virtsnap::bench::statusKb;
using virtsnap::kube::TypedClient;

constexpr const char* kNode = "bench-node";
constexpr const char* kNamespace = "vms";
constexpr const char* kFloorNamespace = "floor";
constexpr const char* kDomainName = "bench";
constexpr const char* kAgentUserAgent = "virtsnap-controller";

// ---- the floors, as child processes ---------------------------------------------------------------

// --floor-libvirt N: a domain like the agent's (test type, 64 MiB, i686), started, then N snapshots
// through LibvirtDriver. Prints "wall cpu rss_delta_kb".
int floorLibvirt(int n, int domains) {
  virtsnap::drivers::libvirt::LibvirtDriverOptions options;
  options.uri = "test:///default";
  options.storageRoots = {"/default-pool"};
  virtsnap::drivers::libvirt::LibvirtDriver driver(options);
  std::vector<std::string> names;
  for (int d = 0; d < domains; ++d) {
    virtsnap::drivers::DomainSpec spec;
    spec.name = "floor-" + std::to_string(d) + ".bench";
    spec.type = "test";
    spec.memoryBytes = 64ULL << 20;
    spec.arch = "i686";
    if (auto defined = driver.defineDomain(spec); !defined) {
      std::cerr << "floor: define: " << defined.error().message << "\n";
      return 1;
    }
    if (auto failed = driver.start(spec.name)) {
      std::cerr << "floor: start: " << failed->message << "\n";
      return 1;
    }
    names.push_back(spec.name);
  }
  const long rssBefore = statusKb(::getpid(), "VmRSS");
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    virtsnap::drivers::SnapshotRequest request;
    request.name = "s" + std::to_string(i);
    if (auto made = driver.createSnapshot(names[static_cast<std::size_t>(i % domains)], request); !made) {
      std::cerr << "floor: snapshot " << i << ": " << made.error().message << "\n";
      return 1;
    }
  }
  const double wall = secondsSince(start);
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  const double cpu =
      seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime);
  std::cout << wall << " " << cpu << " " << statusKb(::getpid(), "VmRSS") - rssBefore << "\n";
  return 0;
}

// --floor-api KUBECONFIG STATUSES N: N Snapshots created in namespace floor and each given a status
// (the agent's own, read from the file STATUSES, one JSON per line), one client, back to back, qps
// unlimited. Prints "wall cpu".
int floorApi(const std::string& kubeconfig, const std::string& statusesFile, int n) {
  auto config = virtsnap::kube::loadKubeconfig({kubeconfig});
  if (!config) {
    std::cerr << "floor: " << config.error() << "\n";
    return 1;
  }
  virtsnap::kube::RestClientOptions options;
  options.qps = 0;
  options.userAgent = "virtsnap-bench-floor";
  auto client = virtsnap::kube::makeHttpApiClient(config.value(), options);
  if (!client) {
    std::cerr << "floor: " << client.error().message << "\n";
    return 1;
  }
  std::vector<nlohmann::json> statuses;
  std::ifstream in(statusesFile);
  for (std::string line; std::getline(in, line);) {
    statuses.push_back(nlohmann::json::parse(line));
  }
  if (statuses.empty()) {
    std::cerr << "floor: no statuses in " << statusesFile << "\n";
    return 1;
  }
  const auto& type = virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type();
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    nlohmann::json object = {
        {"apiVersion", "virtsnap.io/v1alpha1"},
        {"kind", "Snapshot"},
        {"metadata", {{"name", "s" + std::to_string(i)}, {"namespace", kFloorNamespace}}},
        {"spec", {{"domainName", kDomainName}}}};
    auto created = client.value()->create(type, object, {});
    if (!created) {
      std::cerr << "floor: create: " << created.error().message << "\n";
      return 1;
    }
    nlohmann::json withStatus = created.value();
    withStatus["status"] = statuses[static_cast<std::size_t>(i) % statuses.size()];
    auto written = client.value()->updateStatus(type, withStatus, {});
    if (!written) {
      std::cerr << "floor: status: " << written.error().message << "\n";
      return 1;
    }
  }
  const double wall = secondsSince(start);
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  std::cout << wall << " "
            << seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) -
                   seconds(before.ru_stime)
            << "\n";
  return 0;
}

// Runs this binary with `arguments` and returns the numbers it printed (empty when it failed).
std::vector<double> runFloor(const std::string& arguments) {
  auto run = virtsnap::testsupport::runShell("/proc/" + std::to_string(::getpid()) + "/exe " + arguments);
  std::vector<double> numbers;
  if (run.exitCode != 0) {
    std::cerr << "floor failed: " << run.output << "\n";
    return numbers;
  }
  std::istringstream in(run.output);
  for (double value = 0; in >> value;) {
    numbers.push_back(value);
  }
  return numbers;
}

// The agent as the bench runs it.
struct AgentOptions {
  std::vector<std::string> flags;  // passed to the agent
  std::string libvirtUri = "test:///default";
  std::vector<std::string> wrapper;  // a command the agent runs under, its words
  bool kill = false;                 // end it with SIGKILL rather than SIGTERM
  std::string onConverged;           // a shell command, {pid} replaced
};

// ---- the agent's world ----------------------------------------------------------------------------

struct Counts {
  std::uint64_t requests = 0;  // the agent's, every verb
  std::uint64_t writes = 0;    // every writer's, leases apart
  std::uint64_t leaseWrites = 0;
  std::map<std::string, std::uint64_t> byKind;  // "verb resource[/sub] code" of the writes
  std::map<std::string, std::uint64_t> requestsByKind;
};

Counts operator-(const Counts& after, const Counts& before) {
  Counts d;
  d.requests = after.requests - before.requests;
  d.writes = after.writes - before.writes;
  d.leaseWrites = after.leaseWrites - before.leaseWrites;
  for (const auto& [key, count] : after.byKind) {
    const auto it = before.byKind.find(key);
    const std::uint64_t was = it == before.byKind.end() ? 0 : it->second;
    if (count != was) {
      d.byKind[key] = count - was;
    }
  }
  for (const auto& [key, count] : after.requestsByKind) {
    const auto it = before.requestsByKind.find(key);
    const std::uint64_t was = it == before.requestsByKind.end() ? 0 : it->second;
    if (count != was) {
      d.requestsByKind[key] = count - was;
    }
  }
  return d;
}

class World {
 public:
  World(bool durable, const AgentOptions& agentOptions) : agentOptions_(agentOptions) {
    virtsnap::testsupport::EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-bench-agent";
    options.token = "bench-token";
    options.durable = durable;
    options.client.qps = 0;
    options.client.userAgent = "virtsnap-bench";
    options.namespaces = {kNamespace, kFloorNamespace, "virtsnap-system"};
    auto server = virtsnap::testsupport::EmbeddedApiServer::start(options);
    if (!server) {
      throw std::runtime_error(server.error());
    }
    server_ = std::move(server).value();
    auto front = virtsnap::testsupport::EmbeddedHttpsServer::start(*server_);
    if (!front) {
      throw std::runtime_error(front.error());
    }
    front_ = std::move(front).value();
    virtsnap::kube::RestClientOptions clientOptions;
    clientOptions.qps = 0;
    clientOptions.userAgent = "virtsnap-bench";
    auto client = virtsnap::kube::makeHttpApiClient(front_->clusterConfig(), clientOptions);
    if (!client) {
      throw std::runtime_error(client.error().message);
    }
    https_ = client.value();

    metricsPort_ = freeLoopbackPort();
    healthPort_ = freeLoopbackPort();
    const bool wrapped = !agentOptions.wrapper.empty();
    agent_ = std::make_unique<virtsnap::testsupport::AgentProcess>(
        wrapped ? "/usr/bin/env" : VIRTSNAP_CONTROLLER_BINARY, server_->dir() / "agent.log");
    std::vector<std::string> flags;
    if (wrapped) {
      flags = agentOptions.wrapper;
      flags.emplace_back(VIRTSNAP_CONTROLLER_BINARY);
    }
    flags.insert(flags.end(), {"--kubeconfig", front_->kubeconfig().string(), "--node-name", kNode,
                               "--libvirt-uri", agentOptions.libvirtUri, "--identity", "bench-agent",
                               "--metrics-bind-address", "127.0.0.1:" + std::to_string(metricsPort_),
                               "--health-probe-bind-address", "127.0.0.1:" + std::to_string(healthPort_)});
    flags.insert(flags.end(), agentOptions.flags.begin(), agentOptions.flags.end());
    if (!agent_->start(flags)) {
      throw std::runtime_error("cannot start the agent");
    }
    // Until the forked child has exec'd, its command is ours.
    virtsnap::testsupport::eventually(
        [&] { return (pid_ = virtsnap::bench::descendantPid(VIRTSNAP_CONTROLLER_BINARY)) > 0; },
        wrapped ? 60s : 10s, 1ms);
    if (pid_ <= 0) {
      throw std::runtime_error("cannot find the agent's pid");
    }
    if (!virtsnap::testsupport::eventually([&] { return httpStatus(healthPort_, "/readyz") == 200; }, 60s,
                                           50ms)) {
      throw std::runtime_error("the agent never became ready:\n" + agent_->output());
    }
  }

  ~World() {
    if (agent_ && agentOptions_.kill) {
      // The wrapper (a profiler) writes out what the agent held, then exits by itself.
      ::kill(pid_, SIGKILL);
      if (!virtsnap::testsupport::eventually([&] { return !agent_->running(); }, 600s, 100ms)) {
        std::cerr << "the agent's wrapper did not exit\n";
      }
    }
    if (agent_) {
      agent_->stop(30s);
    }
    https_.reset();
    front_.reset();
  }

  pid_t pid() const { return pid_; }
  const virtsnap::kube::ApiClientPtr& https() const { return https_; }
  virtsnap::testsupport::EmbeddedApiServer& server() { return *server_; }
  const virtsnap::testsupport::EmbeddedHttpsServer& front() const { return *front_; }

  Counts counts() const {
    Counts c;
    for (const auto& [key, count] : server_->handler().writes().counts()) {
      if (key.resource == "leases") {
        c.leaseWrites += count;
        continue;
      }
      c.writes += count;
      c.byKind[key.verb + " " + key.resource + (key.subresource.empty() ? "" : "/" + key.subresource) + " " +
               std::to_string(key.code)] += count;
    }
    for (const auto& [key, count] : server_->handler().requests().counts()) {
      if (key.userAgent == kAgentUserAgent) {
        c.requests += count;
        c.requestsByKind[key.verb + " " + key.resource +
                         (key.subresource.empty() ? "" : "/" + key.subresource)] += count;
      }
    }
    return c;
  }

  // Waits until no write (leases apart) happened for `window`; false after `limit`.
  bool awaitQuiet(std::chrono::milliseconds window, std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    auto last = counts().writes;
    auto since = Clock::now();
    while (Clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      const auto now = counts().writes;
      if (now != last) {
        last = now;
        since = Clock::now();
      } else if (Clock::now() - since >= window) {
        return true;
      }
    }
    return false;
  }

  // Waits until every Domain's status counts `snapshots` snapshots: the tree statuses are written a
  // while after the trees settle (--tree-status-delay), and a quiet window must not start before.
  bool awaitDomainTrees(int snapshots, std::chrono::seconds limit) const {
    TypedClient<virtsnap::crds::Domain> domains(server_->client());
    return virtsnap::testsupport::eventually(
        [&] {
          auto list = domains.list(kNamespace);
          return list && std::all_of(list->items.begin(), list->items.end(), [&](const auto& domain) {
                   return domain.status && domain.status->snapshotCount == snapshots;
                 });
        },
        limit, 50ms);
  }

  void createDomain() const { createDomains({kDomainName}); }

  // Creates the Domains and waits until every one is Ready.
  void createDomains(const std::vector<std::string>& names) const {
    for (const std::string& name : names) {
      virtsnap::crds::Domain domain;
      domain.metadata.name = name;
      domain.metadata.namespaceName = kNamespace;
      domain.spec.nodeName = kNode;
      domain.spec.type = "test";
      domain.spec.memory = virtsnap::meta::Quantity::parse("64Mi").value();
      domain.spec.os = virtsnap::crds::DomainOs{"i686", std::nullopt, std::nullopt};
      auto created = TypedClient<virtsnap::crds::Domain>(https_).create(domain);
      if (!created) {
        throw std::runtime_error("Domain " + name + ": " + created.error().message);
      }
    }
    if (!virtsnap::testsupport::eventually(
            [&] {
              auto listed = server_->client()->list(virtsnap::meta::Resource<virtsnap::crds::Domain>::type(),
                                                    kNamespace, {});
              if (!listed) {
                return false;
              }
              std::size_t ready = 0;
              for (const auto& item : listed.value().value("items", nlohmann::json::array())) {
                ready += readyCondition(item) ? 1 : 0;
              }
              return ready >= names.size();
            },
            std::chrono::seconds(60 + names.size()), 20ms)) {
      throw std::runtime_error("the Domains never became Ready:\n" + agent_->output());
    }
  }

  // A counter of the agent's /metrics: the sum over every series of `family` whose labels include
  // `labelMatch` (e.g. controller="snapshot"); -1 when unreadable.
  double metric(const std::string& family, const std::string& labelMatch = "") const {
    const std::string text = virtsnap::bench::scrapeMetrics(metricsPort_);
    return text.empty() ? -1 : virtsnap::bench::metricSum(text, family, {labelMatch});
  }

  std::string metricsText() const { return virtsnap::bench::scrapeMetrics(metricsPort_); }

  std::string agentOutput() const { return agent_->output(); }
  bool agentRunning() { return agent_->running(); }

 private:
  static int httpStatus(int port, const std::string& path) {
    auto run = virtsnap::testsupport::runShell(
        "curl -s -o /dev/null --max-time 5 -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) +
        path);
    return std::atoi(run.output.c_str());
  }

  AgentOptions agentOptions_;
  std::unique_ptr<virtsnap::testsupport::EmbeddedApiServer> server_;
  std::unique_ptr<virtsnap::testsupport::EmbeddedHttpsServer> front_;
  virtsnap::kube::ApiClientPtr https_;
  std::unique_ptr<virtsnap::testsupport::AgentProcess> agent_;
  pid_t pid_ = -1;
  int metricsPort_ = 0;
  int healthPort_ = 0;
};

struct SnapshotsResult {
  std::string label;  // the table's column: "N=1000", "100x20"
  int n = 0;          // snapshots made
  double wall = 0;
  double cpu = 0;
  long hwmKb = 0;
  long idleKb = 0;
  long idleAnonKb = 0;  // of idleKb: the process's own pages; the rest is mapped files (code, shared)
  long convergedAnonKb = 0;
  long convergedKb = 0;
  Counts counts;
  double floorLibvirtWall = 0;
  double floorLibvirtCpu = 0;
  double floorLibvirtKb = 0;
  double floorApiWall = 0;
  double floorApiCpu = 0;
  double reconcileSeconds = 0;  // the snapshot controller's reconcile time, summed
  double domainReconciles = 0;  // the Domain controller's reconciles
  double rateLimitedWait = -1;  // not exposed
};

// The floors of a run that made result.n Snapshots over `domains` Domains (the libvirt floor spreads
// its creates over as many domains), and the agent's writes by kind. The API floor's statuses are
// the agent's own (same bytes on the wire).
void measureFloors(World& world, int domains, SnapshotsResult& result) {
  auto listed = world.server().client()->list(virtsnap::meta::Resource<virtsnap::crds::Snapshot>::type(),
                                              kNamespace, {});
  const std::string statuses = (world.server().dir() / "statuses.jsonl").string();
  {
    std::ofstream out(statuses);
    for (const auto& item : listed.value()["items"]) {
      out << item["status"].dump() << "\n";
    }
  }
  auto libvirt = runFloor("--floor-libvirt " + std::to_string(result.n) + " " + std::to_string(domains));
  auto api = runFloor("--floor-api " + world.front().kubeconfig().string() + " " + statuses + " " +
                      std::to_string(result.n));
  if (libvirt.size() != 3 || api.size() != 2) {
    throw std::runtime_error("a floor failed");
  }
  result.floorLibvirtWall = libvirt[0];
  result.floorLibvirtCpu = libvirt[1];
  result.floorLibvirtKb = libvirt[2];
  result.floorApiWall = api[0];
  result.floorApiCpu = api[1];

  std::cout << "\n"
            << result.label << ": the agent's writes (every writer's but leases; the bench's own " << result.n
            << " creates included):\n";
  for (const auto& [key, count] : result.counts.byKind) {
    std::cout << "  " << key << ": " << count << "\n";
  }
  std::cout << "  the agent's requests by verb:\n";
  for (const auto& [key, count] : result.counts.requestsByKind) {
    std::cout << "    " << key << ": " << count << "\n";
  }
}

// Runs the --on-converged command, {pid} replaced by `pid`, and prints its output under `title`.
void runProbe(const AgentOptions& agentOptions, pid_t pid, const std::string& title) {
  if (agentOptions.onConverged.empty()) {
    return;
  }
  std::string command = agentOptions.onConverged;
  for (auto at = command.find("{pid}"); at != std::string::npos; at = command.find("{pid}")) {
    command.replace(at, 5, std::to_string(pid));
  }
  std::cout << "\n" << title << ": " << command << "\n" << virtsnap::testsupport::runShell(command).output;
}

// `domains` Domains, then snapshotsPerDomain Snapshots of each created at once (round robin over the
// Domains, one client, back to back) until the server holds all of them Ready; then the floors.
SnapshotsResult runBurst(int domains, int snapshotsPerDomain, bool durable,
                         const AgentOptions& agentOptions) {
  const int n = domains * snapshotsPerDomain;
  SnapshotsResult result;
  result.label = domains == 1 ? "N=" + std::to_string(n)
                              : std::to_string(domains) + "x" + std::to_string(snapshotsPerDomain);
  result.n = n;
  World world(durable, agentOptions);
  result.idleKb = statusKb(world.pid(), "VmRSS");
  result.idleAnonKb = statusKb(world.pid(), "RssAnon");
  runProbe(agentOptions, world.pid(), result.label + ", idle");
  std::vector<std::string> domainNames;
  for (int d = 0; d < domains; ++d) {
    domainNames.push_back(domains == 1 ? std::string(kDomainName) : "d" + std::to_string(d));
  }
  world.createDomains(domainNames);
  if (!world.awaitQuiet(1000ms, 60s)) {
    throw std::runtime_error("the Domains' writes never settled");
  }
  const Counts before = world.counts();
  const double cpuBefore = cpuSeconds(world.pid());
  const double reconcileBefore =
      world.metric("controller_runtime_reconcile_time_seconds_sum", "controller=\"snapshot\"");
  const double domainReconcilesBefore =
      world.metric("controller_runtime_reconcile_time_seconds_count", "controller=\"domain\"");
  virtsnap::bench::SnapshotWatcher watcher(world.server().client(), kNamespace);

  const auto start = Clock::now();
  TypedClient<virtsnap::crds::Snapshot> snapshots(world.https());
  for (int i = 0; i < n; ++i) {
    virtsnap::crds::Snapshot snapshot;
    const auto domain = static_cast<std::size_t>(i % domains);
    snapshot.metadata.name =
        (domains == 1 ? std::string() : domainNames[domain] + "-") + "s" + std::to_string(i / domains);
    snapshot.metadata.namespaceName = kNamespace;
    snapshot.spec.domainName = domainNames[domain];
    auto created = snapshots.create(snapshot);
    if (!created) {
      throw std::runtime_error("Snapshot " + std::string(snapshot.metadata.name.value_or("")) + ": " +
                               created.error().message);
    }
  }
  const auto limit = std::chrono::seconds(120 + n);
  // An agent that exits (it stops when it loses its node's Lease) fails the run at once, with its log.
  bool agentGone = false;
  if (!virtsnap::testsupport::eventually(
          [&] {
            agentGone = !world.agentRunning();
            return agentGone || watcher.ready() >= static_cast<std::size_t>(n);
          },
          limit, 5ms) ||
      agentGone) {
    throw std::runtime_error(std::to_string(watcher.ready()) + " of " + std::to_string(n) + " Ready " +
                             (agentGone ? "when the agent exited:\n" + world.agentOutput()
                                        : "after " + std::to_string(limit.count()) + " s"));
  }
  result.wall = secondsSince(start);
  if (!world.awaitDomainTrees(snapshotsPerDomain, 300s) || !world.awaitQuiet(1500ms, 300s)) {
    throw std::runtime_error("the agent's writes never settled");
  }
  result.cpu = cpuSeconds(world.pid()) - cpuBefore;
  result.hwmKb = statusKb(world.pid(), "VmHWM");
  result.convergedKb = statusKb(world.pid(), "VmRSS");
  result.convergedAnonKb = statusKb(world.pid(), "RssAnon");
  result.counts = world.counts() - before;
  result.reconcileSeconds =
      world.metric("controller_runtime_reconcile_time_seconds_sum", "controller=\"snapshot\"") -
      reconcileBefore;
  result.domainReconciles =
      world.metric("controller_runtime_reconcile_time_seconds_count", "controller=\"domain\"") -
      domainReconcilesBefore;
  runProbe(agentOptions, world.pid(), result.label + ", converged");

  measureFloors(world, domains, result);
  return result;
}

void printSnapshots(const std::string& title, const std::vector<SnapshotsResult>& results,
                    const std::string& flags, const std::string& libvirtUri) {
  // test:///default runs the test driver inside the agent, so its snapshots are in the agent's RSS;
  // through libvirtd (test+unix:///default) they are libvirtd's, as in a deployment.
  const bool driverInAgent = libvirtUri.rfind("test:///", 0) == 0;
  std::cout << "\n"
            << title << " (agent: " << libvirtUri << (driverInAgent ? " in its process" : " through libvirtd")
            << ", " << (flags.empty() ? std::string("default flags") : "flags" + flags)
            << "; floor: the same createSnapshot calls through LibvirtDriver + N creates and N status writes "
               "from one client, sequential; wall times under load, CPU times less sensitive)\n";
  const std::vector<int> widths{34, 10, 10, 10, 10};
  std::vector<std::string> header{""};
  for (const auto& r : results) {
    header.push_back(r.label);
  }
  printRow(header, widths);
  const auto row = [&](const std::string& name,
                       const std::function<std::string(const SnapshotsResult&)>& cell) {
    std::vector<std::string> cells{name};
    for (const auto& r : results) {
      cells.push_back(cell(r));
    }
    printRow(cells, widths);
  };
  row("agent wall s", [](const auto& r) { return fixed(r.wall); });
  row("agent wall ms/snapshot", [](const auto& r) { return fixed(1000 * r.wall / r.n); });
  row("agent CPU s", [](const auto& r) { return fixed(r.cpu); });
  row("agent CPU ms/snapshot", [](const auto& r) { return fixed(1000 * r.cpu / r.n); });
  row("snapshot reconcile s (summed)", [](const auto& r) { return fixed(r.reconcileSeconds); });
  row("Domain reconciles/snapshot", [](const auto& r) { return fixed(r.domainReconciles / r.n); });
  row("agent requests/snapshot",
      [](const auto& r) { return fixed(static_cast<double>(r.counts.requests) / r.n); });
  row("agent writes/snapshot", [](const auto& r) {
    return fixed(static_cast<double>(r.counts.writes - static_cast<std::uint64_t>(r.n)) / r.n);
  });
  row("lease writes in the run", [](const auto& r) { return std::to_string(r.counts.leaseWrites); });
  row("agent peak RSS MB (VmHWM)", [](const auto& r) { return fixed(r.hwmKb / 1024.0, 1); });
  row("agent RSS idle MB", [](const auto& r) { return fixed(r.idleKb / 1024.0, 1); });
  row("  of which anonymous (own) MB", [](const auto& r) { return fixed(r.idleAnonKb / 1024.0, 1); });
  row("  of which mapped files MB",
      [](const auto& r) { return fixed((r.idleKb - r.idleAnonKb) / 1024.0, 1); });
  row("agent RSS converged MB", [](const auto& r) { return fixed(r.convergedKb / 1024.0, 1); });
  row("  of which anonymous (own) MB", [](const auto& r) { return fixed(r.convergedAnonKb / 1024.0, 1); });
  row("RSS B/object (all)",
      [](const auto& r) { return fixed(1024.0 * (r.convergedKb - r.idleKb) / r.n, 0); });
  row("test driver's B/snapshot", [](const auto& r) { return fixed(1024.0 * r.floorLibvirtKb / r.n, 0); });
  row("RSS B/object (agent's own)", [&](const auto& r) {
    return fixed(1024.0 * (r.convergedKb - r.idleKb - (driverInAgent ? r.floorLibvirtKb : 0)) / r.n, 0);
  });
  row("floor libvirt wall s", [](const auto& r) { return fixed(r.floorLibvirtWall); });
  row("floor libvirt CPU s", [](const auto& r) { return fixed(r.floorLibvirtCpu); });
  row("floor API wall s (2N writes)", [](const auto& r) { return fixed(r.floorApiWall); });
  row("floor API client CPU s", [](const auto& r) { return fixed(r.floorApiCpu); });
  row("floor wall s (libvirt + API)",
      [](const auto& r) { return fixed(r.floorLibvirtWall + r.floorApiWall); });
  row("ratio wall agent/floor",
      [](const auto& r) { return fixed(r.wall / (r.floorLibvirtWall + r.floorApiWall)); });
  row("ratio CPU agent/floor",
      [](const auto& r) { return fixed(r.cpu / (r.floorLibvirtCpu + r.floorApiCpu)); });
  row("ratio writes agent/floor (1/snap)", [](const auto& r) {
    return fixed(static_cast<double>(r.counts.writes - static_cast<std::uint64_t>(r.n)) / r.n);
  });
}

void runSteady(bool durable, AgentOptions agentOptions) {
  constexpr int kSnapshots = 20;
  constexpr int kPeriods = 3;
  agentOptions.flags.insert(agentOptions.flags.end(), {"--resync-period", "2", "--poll-period", "2"});
  World world(durable, agentOptions);
  world.createDomain();
  TypedClient<virtsnap::crds::Snapshot> snapshots(world.https());
  virtsnap::bench::SnapshotWatcher watcher(world.server().client(), kNamespace);
  for (int i = 0; i < kSnapshots; ++i) {
    virtsnap::crds::Snapshot snapshot;
    snapshot.metadata.name = "s" + std::to_string(i);
    snapshot.metadata.namespaceName = kNamespace;
    snapshot.spec.domainName = kDomainName;
    if (!snapshots.create(snapshot)) {
      throw std::runtime_error("cannot create a Snapshot");
    }
  }
  if (!virtsnap::testsupport::eventually([&] { return watcher.ready() >= kSnapshots; }, 120s, 5ms) ||
      !world.awaitDomainTrees(kSnapshots, 120s) || !world.awaitQuiet(2500ms, 120s)) {
    throw std::runtime_error("20 snapshots did not converge");
  }
  const Counts before = world.counts();
  const double cpuBefore = cpuSeconds(world.pid());
  const double reconcilesBefore = world.metric("controller_runtime_reconcile_total");
  const auto start = Clock::now();
  // Watching for nothing to happen: only time shows it.
  std::this_thread::sleep_for(std::chrono::seconds(2 * kPeriods) + 200ms);
  const double window = secondsSince(start);
  const Counts during = world.counts() - before;
  const double cpu = cpuSeconds(world.pid()) - cpuBefore;
  const double reconciles = world.metric("controller_runtime_reconcile_total") - reconcilesBefore;
  std::cout << "\n(c) steady state: 1 Domain, " << kSnapshots
            << " Ready Snapshots, --resync-period 2 --poll-period 2, " << fixed(window, 1) << " s ("
            << kPeriods << " periods)\n";
  const std::vector<int> widths{34, 10};
  printRow({"API writes (leases apart)", std::to_string(during.writes)}, widths);
  printRow({"lease writes", std::to_string(during.leaseWrites)}, widths);
  printRow({"agent requests (leases included)", std::to_string(during.requests)}, widths);
  printRow({"reconciles (all controllers)", fixed(reconciles, 0)}, widths);
  printRow({"agent CPU s", fixed(cpu, 3)}, widths);
  printRow({"agent CPU % of one core", fixed(100 * cpu / window, 2)}, widths);
  for (const auto& [key, count] : during.byKind) {
    std::cout << "  write " << key << ": " << count << "\n";
  }
  for (const auto& [key, count] : during.requestsByKind) {
    std::cout << "  request " << key << ": " << count << "\n";
  }
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) {
      parts.push_back(part);
    }
  }
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "--floor-libvirt") {
    return floorLibvirt(std::stoi(args[1]), std::stoi(args[2]));
  }
  if (args.size() == 4 && args[0] == "--floor-api") {
    return floorApi(args[1], args[2], std::stoi(args[3]));
  }
  std::vector<int> sizes{100, 1000};
  std::vector<std::string> scenarios{"snapshots", "domains", "steady"};
  int domainCount = 100;  // scenario domains: DOMAINSxSNAPSHOTS
  int perDomain = 20;
  bool durable = true;
  AgentOptions agentOptions;
  std::string flagText;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--n" && i + 1 < args.size()) {
      sizes.clear();
      for (const auto& part : split(args[++i])) {
        sizes.push_back(std::stoi(part));
      }
    } else if (args[i] == "--scenarios" && i + 1 < args.size()) {
      scenarios = split(args[++i]);
    } else if (args[i] == "--agent-flag" && i + 1 < args.size()) {
      agentOptions.flags.push_back(args[++i]);
      flagText += " " + agentOptions.flags.back();
    } else if (args[i] == "--agent-libvirt-uri" && i + 1 < args.size()) {
      agentOptions.libvirtUri = args[++i];
    } else if (args[i] == "--agent-wrapper" && i + 1 < args.size()) {
      std::istringstream words(args[++i]);
      agentOptions.wrapper.assign(std::istream_iterator<std::string>(words),
                                  std::istream_iterator<std::string>());
    } else if (args[i] == "--agent-kill") {
      agentOptions.kill = true;
    } else if (args[i] == "--on-converged" && i + 1 < args.size()) {
      agentOptions.onConverged = args[++i];

    } else if (args[i] == "--domains" && i + 1 < args.size()) {
      const std::string shape = args[++i];  // DOMAINSxSNAPSHOTS
      const auto x = shape.find('x');
      domainCount = std::stoi(shape.substr(0, x));
      perDomain = x == std::string::npos ? 20 : std::stoi(shape.substr(x + 1));
    } else if (args[i] == "--memory-store") {
      durable = false;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--n 100,1000[,10000]] [--domains 100x20] [--scenarios snapshots,domains,steady] "
                   "[--memory-store] [--agent-flag FLAG]... [--agent-libvirt-uri URI] [--agent-wrapper \"CMD "
                   "ARGS\"] "
                   "[--agent-kill] [--on-converged \"CMD {pid}\"]\n";
      return 2;
    }
  }
  std::string rerun = argv[0];
  for (const auto& arg : args) {
    if (arg.find_first_of(" '\"{}|;&$") == std::string::npos) {
      rerun += " " + arg;
      continue;
    }
    std::string quoted = "'";
    for (char c : arg) {
      quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    rerun += " " + quoted + "'";
  }
  try {
    for (const auto& scenario : scenarios) {
      if (scenario == "snapshots") {
        std::vector<SnapshotsResult> results;
        for (int n : sizes) {
          results.push_back(runBurst(1, n, durable, agentOptions));
        }
        printSnapshots("(a) N Snapshots of one Domain applied at once until all are Ready", results, flagText,
                       agentOptions.libvirtUri);
      } else if (scenario == "domains") {
        printSnapshots("(b) " + std::to_string(domainCount) + " Domains with " + std::to_string(perDomain) +
                           " Snapshots each, applied at once until all are Ready",
                       {runBurst(domainCount, perDomain, durable, agentOptions)}, flagText,
                       agentOptions.libvirtUri);
      } else if (scenario == "steady") {
        runSteady(durable, agentOptions);
      } else {
        std::cerr << "unknown scenario " << scenario << "\n";
        return 2;
      }
    }
  } catch (const std::exception& error) {
    std::cerr << "bench failed: " << error.what() << "\n";
    return 1;
  }
  std::cout << "\nrerun: " << rerun << "\n";
  return 0;
}
