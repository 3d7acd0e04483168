// The agent under API server faults: one table-driven test, a row per fault kind. Each row runs the same
// workload (two Domains; 12 Snapshots taken, 3 SnapshotReverts, 6 Snapshots and one Domain deleted: 24
// operations) while the fault is on, lifts it, and asserts within a bound: every object converged (Ready,
// Succeeded or gone), web's status tree equals libvirt's, no snapshot taken twice (one "Created" Event at
// most, exactly one where Events were spared), nothing in libvirt without its object, no finalizer stuck,
// and the agent's requests bounded (no hot loop), counted on its own transport, faulted ones included.
//
// In process (the embedded API server's handler behind an InProcessTransport, libvirt's test:///default)
// rather than the two binaries: the faults are the server's FaultInjector, reached directly, and the
// whole suite costs seconds. The faults are the agent's only (by User-Agent): the test's own client
// reads and writes undisturbed. The injector's draws are seeded (printed on failure; VIRTSNAP_SEED=<n>
// replays the draws, though which request meets which draw depends on the agent's thread timing).
//
// "API server restarted" is the restart as the agent sees it: every open watch dropped, every request
// dropped for 1.5 s (the server is down), then the watches resumed told 410 (a new server's watch cache
// has no history); the store itself stays up (apiserver_restart_test.cpp restarts the real one).
// "Write done, answer lost" applies each faulted write and then answers it with a 500 or a dropped
// connection: the agent retries what did happen, and must meet AlreadyExists, a stale resourceVersion's
// 409 or NotFound without taking a snapshot twice or getting stuck.

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "controller/agent/agent_manager.h"
#include "controller/apiserver/fault_injector.h"
#include "controller/kube/rest_client.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/meta/resource_type.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/event_counts.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirt_snapshots.h"
#include "tests/support/test_seed.h"
#include "tests/support/tree_lines.h"

namespace virtsnap {
namespace {

using kube::TypedClient;
using namespace std::chrono_literals;

constexpr const char* kAgent = "virtsnap-agent";
constexpr auto kPhaseLimit = 60s;     // a step of the workload, under the fault
constexpr auto kConvergeLimit = 60s;  // everything agreeing, once the fault is lifted
constexpr int kOperations = 24;       // what the workload asks of the agent

// Counts every request the agent sends (plain and watches), whatever the server answers, and keeps
// each one's method and path, for a failure's message.
class CountingTransport final : public kube::Transport {
 public:
  explicit CountingTransport(kube::TransportPtr inner) : inner_(std::move(inner)) {}
  kube::KubeResult<kube::RestResponse> send(const kube::RestRequest& request) override {
    record(request);
    return inner_->send(request);
  }
  kube::KubeResult<kube::LineStreamPtr> stream(const kube::RestRequest& request) override {
    record(request);
    return inner_->stream(request);
  }
  int requests() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(sent_.size());
  }
  // When the last Event write was sent (the clock's epoch before the first).
  std::chrono::steady_clock::time_point lastEventWrite() const {
    std::lock_guard lock(mutex_);
    return lastEventWrite_;
  }
  // The requests from the `from`-th on, one line each.
  std::string since(int from) const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (std::size_t i = static_cast<std::size_t>(from); i < sent_.size(); ++i) {
      out += "  " + sent_[i] + "\n";
    }
    return out;
  }

 private:
  void record(const kube::RestRequest& request) {
    std::string line = request.method + " " + request.path;
    for (const auto& [key, value] : request.query) {
      line += (line.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    }
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(line));
    if (request.method != "GET" && request.path.find("/events") != std::string::npos) {
      lastEventWrite_ = std::chrono::steady_clock::now();
    }
  }

  const kube::TransportPtr inner_;
  mutable std::mutex mutex_;  // guards sent_ and lastEventWrite_
  std::vector<std::string> sent_;
  std::chrono::steady_clock::time_point lastEventWrite_{};
};

using testsupport::joined;
using testsupport::treeLines;

// What is done to the server at each of the workload's three steps, once that step's requests are made.
enum class Disturb { Nothing, Restart, ExpireWatches, BreakWatches };

// One fault kind: the rules on while the workload runs, and what is done to the server at each step.
struct FaultRow {
  std::string name;
  std::function<std::vector<apiserver::Fault>()> rules;
  Disturb disturb = Disturb::Nothing;
  bool eventsSpared = false;  // no Event write is faulted: each snapshot has exactly one "Created"
  // Event writes are faulted or slowed: the recorder retries them (after 1 s, then 2 s, 4 s) and the
  // Events queued behind wait, so Events are counted, and the quiet after convergence measured, once its
  // writes stop (seen with 2 s latency spikes: 16 queued Events written in the quiet window).
  bool eventsRetried = false;
};

void PrintTo(const FaultRow& row, std::ostream* out) {
  *out << row.name;
}

class AgentFaults : public ::testing::TestWithParam<FaultRow> {
 protected:
  void SetUp() override {
    seed_ = testsupport::seedFromEnvironment();

    testsupport::EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-faults";
    options.namespaces = {"vms", "virtsnap-system"};
    options.client.qps = 0;
    options.client.userAgent = "virtsnap-test";  // spared by the faults, which name the agent's
    auto started = testsupport::EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    server_ = std::move(started).value();

    drivers::libvirt::LibvirtDriverOptions driverOptions;
    driverOptions.uri = "test:///default";
    driverOptions.storageRoots = {"/default-pool"};
    driverOptions.revertSpacing = 0ms;
    driver_ = std::make_unique<drivers::libvirt::LibvirtDriver>(driverOptions);
    observer_ = std::make_unique<drivers::libvirt::LibvirtDriver>(driverOptions);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "seed " << seed_ << " (VIRTSNAP_SEED=" << seed_ << " replays the draws)\n";
    }
    if (server_) {
      server_->handler().faults().clear();
    }
    stopAgent();
    if (!observer_) {
      return;
    }
    for (const char* name : {"vms.web", "vms.db"}) {
      observer_->destroy(name);
      observer_->undefine(name, drivers::UndefineOptions{});
    }
  }

  void startAgent() {
    agent::AgentManagerOptions options;
    options.settings.nodeName = "n1";
    options.settings.storagePool = "default-pool";
    options.settings.pollPeriod = 500ms;
    options.storageRoots = {"/default-pool"};
    options.workers = 2;
    options.identity = "faults";
    agentTransport_ = std::make_shared<CountingTransport>(server_->transport());
    kube::RestClientOptions clientOptions;
    clientOptions.qps = 0;
    clientOptions.userAgent = kAgent;
    auto client = std::make_shared<kube::RestClient>(agentTransport_, clientOptions);
    registry_ = std::make_shared<prometheus::Registry>();
    manager_ = std::make_unique<agent::AgentManager>(options, client, client, *driver_, registry_);
    auto ready = manager_->start();
    ASSERT_TRUE(ready.has_value()) << ready.error();
    ASSERT_TRUE(manager_->waitReady(30s));
  }

  void stopAgent() {
    if (manager_) {
      manager_->stop();
    }
    manager_.reset();
  }

  apiserver::FaultInjector& faults() { return server_->handler().faults(); }

  // A rule for the agent's requests.
  static apiserver::Fault agentFault(std::string method, std::string path) {
    apiserver::Fault fault;
    fault.method = std::move(method);
    fault.pathPrefix = std::move(path);
    fault.userAgent = kAgent;
    return fault;
  }

  bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
    return testsupport::eventually(condition, limit, 20ms);
  }

  crds::Domain newDomain(const std::string& name) {
    crds::Domain domain;
    domain.metadata.name = name;
    domain.metadata.namespaceName = "vms";
    domain.spec.nodeName = "n1";
    domain.spec.type = "test";
    domain.spec.memory = meta::Quantity::parse("64Mi").value();
    domain.spec.os = crds::DomainOs{"i686", std::nullopt, std::nullopt};
    return domain;
  }

  void createSnapshot(const std::string& name, const std::string& domain) {
    crds::Snapshot object;
    object.metadata.name = name;
    object.metadata.namespaceName = "vms";
    object.spec.domainName = domain;
    auto made = TypedClient<crds::Snapshot>(server_->client()).create(object);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    created_.insert(name);
  }

  void createRevert(const std::string& name, const std::string& domain, const std::string& target) {
    crds::SnapshotRevert object;
    object.metadata.name = name;
    object.metadata.namespaceName = "vms";
    object.spec.domainName = domain;
    object.spec.snapshotName = target;
    auto made = TypedClient<crds::SnapshotRevert>(server_->client()).create(object);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    reverts_.insert(name);
  }

  void removeSnapshot(const std::string& name) {
    auto removed = TypedClient<crds::Snapshot>(server_->client()).remove("vms", name);
    ASSERT_TRUE(removed.has_value()) << removed.error().message;
    deleted_.insert(name);
  }

  bool ready(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
    return got && got->status && got->status->phase == crds::SnapshotPhase::Ready;
  }

  bool succeeded(const std::string& name) {
    auto got = TypedClient<crds::SnapshotRevert>(server_->client()).get("vms", name);
    return got && got->status && got->status->phase == crds::RevertPhase::Succeeded;
  }

  bool snapshotGone(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get("vms", name);
    return !got && got.error().kind == kube::ErrorKind::NotFound;
  }

  // The API server restarted, as the agent sees it (see the top of the file).
  void restartServer() {
    apiserver::Fault down = agentFault("", "/");
    down.drop = true;
    faults().add(down);
    server_->transport()->breakStreams();
    std::this_thread::sleep_for(1500ms);  // the time it is down: the fault itself, nothing awaited
    faults().clear();
    apiserver::Fault gone = agentFault("GET", "/apis/");
    gone.watchOnly = true;
    gone.status = 410;
    gone.times = 3;  // the three informers' watches
    faults().add(gone);
  }

  void disturb(Disturb what) {
    switch (what) {
      case Disturb::Nothing:
        break;
      case Disturb::Restart:
        restartServer();
        break;
      case Disturb::ExpireWatches:
        server_->transport()->expireStreams();
        break;
      case Disturb::BreakWatches:
        server_->transport()->breakStreams();
        break;
    }
  }

  // The workload: 24 operations in three steps, each awaited (the test's reads are not faulted).
  void workload(const std::function<void()>& afterEachStep) {
    TypedClient<crds::Domain> domains(server_->client());
    ASSERT_TRUE(domains.create(newDomain("web")).has_value());
    ASSERT_TRUE(domains.create(newDomain("db")).has_value());
    for (int i = 1; i <= 6; ++i) {
      ASSERT_NO_FATAL_FAILURE(createSnapshot("w" + std::to_string(i), "web"));
    }
    for (int i = 1; i <= 4; ++i) {
      ASSERT_NO_FATAL_FAILURE(createSnapshot("d" + std::to_string(i), "db"));
    }
    afterEachStep();
    ASSERT_TRUE(within(kPhaseLimit, [&] {
      for (const std::string& name : created_) {
        if (!ready(name)) {
          return false;
        }
      }
      return true;
    })) << "the first 10 Snapshots did not become Ready under the fault";

    ASSERT_NO_FATAL_FAILURE(createRevert("rw1", "web", "w2"));
    ASSERT_NO_FATAL_FAILURE(createRevert("rd1", "db", "d1"));
    afterEachStep();
    ASSERT_TRUE(within(kPhaseLimit, [&] { return succeeded("rw1") && succeeded("rd1"); }))
        << "the first reverts did not succeed under the fault";
    ASSERT_NO_FATAL_FAILURE(createSnapshot("w7", "web"));
    ASSERT_NO_FATAL_FAILURE(createSnapshot("w8", "web"));
    ASSERT_TRUE(within(kPhaseLimit, [&] { return ready("w7") && ready("w8"); }))
        << "w7 and w8 did not become Ready under the fault";

    ASSERT_NO_FATAL_FAILURE(createRevert("rw2", "web", "w5"));
    ASSERT_NO_FATAL_FAILURE(removeSnapshot("w3"));
    ASSERT_NO_FATAL_FAILURE(removeSnapshot("w4"));
    for (int i = 1; i <= 4; ++i) {
      ASSERT_NO_FATAL_FAILURE(removeSnapshot("d" + std::to_string(i)));
    }
    afterEachStep();
    ASSERT_TRUE(within(kPhaseLimit, [&] {
      for (int i = 1; i <= 4; ++i) {
        if (!snapshotGone("d" + std::to_string(i))) {
          return false;
        }
      }
      return true;
    })) << "db's Snapshots were not deleted under the fault";
    ASSERT_TRUE(domains.remove("vms", "db").has_value());
  }

  // Empty once everything converged; else the first thing that has not.
  std::string disagreement() {
    for (const std::string& name : created_) {
      if (deleted_.contains(name) ? !snapshotGone(name) : !ready(name)) {
        return "Snapshot " + name + (deleted_.contains(name) ? " is not gone" : " is not Ready");
      }
    }
    for (const std::string& name : reverts_) {
      if (!succeeded(name)) {
        return "SnapshotRevert " + name + " has not Succeeded";
      }
    }
    TypedClient<crds::Domain> domains(server_->client());
    if (auto db = domains.get("vms", "db"); db || db.error().kind != kube::ErrorKind::NotFound) {
      return "Domain db is not gone";
    }
    if (observer_->lookupDomain("vms.db")) {
      return "libvirt still has vms.db";
    }
    auto inLibvirt = testsupport::readLibvirtSnapshots(*observer_, "vms.web");
    if (!inLibvirt) {
      return inLibvirt.error();
    }
    const drivers::SnapshotTree& tree = inLibvirt->tree;
    auto web = domains.get("vms", "web");
    if (!web || !web->status) {
      return "no status on Domain web";
    }
    if (treeLines(*web->status) != treeLines(tree)) {
      return "web's status tree " + joined(treeLines(*web->status)) + "!= libvirt's " +
             joined(treeLines(tree));
    }
    auto objects = TypedClient<crds::Snapshot>(server_->client()).list("vms");
    if (!objects) {
      return objects.error().message;
    }
    std::set<std::string> named;
    for (const auto& object : objects->items) {
      named.insert(object.metadata.name.value_or(""));
    }
    if (named != inLibvirt->names) {
      return "Snapshot objects " + joined(std::vector<std::string>(named.begin(), named.end())) +
             "!= libvirt's snapshots " +
             joined(std::vector<std::string>(inLibvirt->names.begin(), inLibvirt->names.end()));
    }
    return {};
  }

  // The sum of the counts of the Events of `reason` about object `name`.
  int eventCount(const std::string& name, const std::string& reason) {
    return testsupport::eventCount(*server_->client(), "vms", name, reason);
  }

  void reset() {
    created_.clear();
    deleted_.clear();
    reverts_.clear();
  }

  std::uint64_t seed_ = 0;
  std::unique_ptr<testsupport::EmbeddedApiServer> server_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> driver_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> observer_;  // libvirt's own view
  std::shared_ptr<CountingTransport> agentTransport_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<agent::AgentManager> manager_;
  std::set<std::string> created_;
  std::set<std::string> deleted_;
  std::set<std::string> reverts_;
};

std::vector<apiserver::Fault> withStatus(const std::vector<std::string>& methods, int status,
                                         double probability) {
  std::vector<apiserver::Fault> rules;
  for (const std::string& method : methods) {
    apiserver::Fault fault;
    fault.method = method;
    fault.pathPrefix = "/apis/";  // the virtsnap objects and the Lease; Events (/api/v1) are spared
    fault.userAgent = kAgent;
    fault.status = status;
    fault.probability = probability;
    rules.push_back(fault);
  }
  return rules;
}

const std::vector<std::string> kWrites = {"POST", "PUT", "PATCH", "DELETE"};
const std::vector<std::string> kAll = {""};

const FaultRow kRows[] = {
    {"NoFault", [] { return std::vector<apiserver::Fault>{}; }, Disturb::Nothing, true},
    {"ApiServerRestarted", [] { return std::vector<apiserver::Fault>{}; }, Disturb::Restart, false, true},
    {"WatchesExpiredRepeatedly", [] { return std::vector<apiserver::Fault>{}; }, Disturb::ExpireWatches,
     true},
    {"ThirtyPercentOfWritesConflict", [] { return withStatus(kWrites, 409, 0.3); }, Disturb::Nothing, true},
    {"TenPercentServerErrors",
     [] {
       // 500 on 5% of the requests, 503 (with Retry-After: 1) on 5.26% of the rest: 10% in all.
       auto rules = withStatus(kAll, 500, 0.05);
       for (auto& fault : withStatus(kAll, 503, 0.0526)) {
         rules.push_back(fault);
       }
       return rules;
     },
     Disturb::Nothing, true},
    {"LatencySpikes",
     [] {
       apiserver::Fault slow;
       slow.pathPrefix = "/";
       slow.userAgent = kAgent;
       slow.latency = 2000ms;
       slow.probability = 0.05;
       slow.times = 8;
       return std::vector<apiserver::Fault>{slow};
     },
     Disturb::Nothing, false, true},
    {"DroppedConnections",
     [] {
       apiserver::Fault dropped;
       dropped.pathPrefix = "/";
       dropped.userAgent = kAgent;
       dropped.drop = true;
       dropped.probability = 0.1;
       return std::vector<apiserver::Fault>{dropped};
     },
     Disturb::BreakWatches, false, true},
    {"WriteDoneAnswerLost",
     [] {
       // The write is committed, then its answer is a 500 (5% of the writes) or a dropped connection
       // (5.26% of the rest): creates, updates, patches and deletes of every kind, status writes,
       // finalizer removals, Events and the Lease. The Events land too, so each is still exactly one.
       std::vector<apiserver::Fault> rules;
       for (const std::string& method : kWrites) {
         apiserver::Fault failed;
         failed.method = method;
         failed.pathPrefix = "/";
         failed.userAgent = kAgent;
         failed.status = 500;
         failed.probability = 0.05;
         failed.afterApplied = true;
         apiserver::Fault dropped = failed;
         dropped.status = 0;
         dropped.drop = true;
         dropped.probability = 0.0526;
         rules.push_back(failed);
         rules.push_back(dropped);
       }
       return rules;
     },
     Disturb::Nothing, true, true},
};

TEST_P(AgentFaults, TheWorkloadConvergesOnceTheFaultIsLifted) {
  const FaultRow& row = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (VIRTSNAP_SEED)");
  ASSERT_NO_FATAL_FAILURE(startAgent());
  faults().seed(seed_);
  const int before = agentTransport_->requests();
  const auto start = std::chrono::steady_clock::now();
  for (const auto& fault : row.rules()) {
    faults().add(fault);
  }
  workload([&] { disturb(row.disturb); });
  const int injected = faults().injected();
  faults().clear();
  const auto lifted = std::chrono::steady_clock::now();
  const int underFault = agentTransport_->requests() - before;
  ASSERT_FALSE(HasFatalFailure());

  std::string last;
  ASSERT_TRUE(within(kConvergeLimit, [&] {
    last = disagreement();
    return last.empty();
  })) << last;
  const auto converged = std::chrono::steady_clock::now();
  const int toConverge = agentTransport_->requests() - before - underFault;

  // The agent's requests, from the fault to convergence, are bounded by what the work needs and what the
  // faults undo: fault-free the workload costs about 4 per operation (94 measured: reads of the Lease,
  // finalizer, status and Event writes), so 8 each; every injected fault costs its request's retry and
  // what follows it (a reconcile's re-read and write, or a watch re-opened and its relist): 6; every
  // disturbance of the three informers' watches a watch and a list each: 6; and the Lease's renewal, a
  // read and a write every 2 s: 1 per second. A hot loop in process makes thousands a second.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(converged - start).count() + 1;
  const int bound = 8 * kOperations + 6 * injected + (row.disturb == Disturb::Nothing ? 0 : 3 * 6) +
                    static_cast<int>(seconds);
  EXPECT_LE(underFault + toConverge, bound) << "requests:\n" << agentTransport_->since(before);
  if (row.eventsRetried) {
    // The recorder's longest wait between two attempts is 4 s: 4.5 s without an Event write, it is done.
    EXPECT_TRUE(within(kConvergeLimit, [&] {
      return std::chrono::steady_clock::now() - agentTransport_->lastEventWrite() > 4500ms;
    })) << "the agent's Event writes never stopped";
  }

  for (const std::string& name : created_) {
    const int taken = eventCount(name, "Created");
    EXPECT_LE(taken, 1) << name << " was taken more than once";
    if (row.eventsSpared) {
      EXPECT_EQ(taken, 1) << name;
    }
  }
  for (const std::string& name : reverts_) {
    EXPECT_LE(eventCount(name, "Reverted"), 1) << name << " was reverted more than once";
  }

  // Converged, the agent is quiet: its Lease renewals (one per 2 s) and at most a watch re-opened or a
  // relist per informer still in its backoff; a hot loop would make hundreds in-process.
  const int settled = agentTransport_->requests();
  std::this_thread::sleep_for(3s);  // a window of time measured, nothing awaited
  const int quiet = agentTransport_->requests() - settled;
  EXPECT_LE(quiet, 12) << "the agent kept sending requests after it converged:\n"
                       << agentTransport_->since(settled);

  using Ms = std::chrono::milliseconds;
  std::cout << "[fault] " << row.name << ": " << injected << " faults injected; requests " << underFault
            << " under the fault (" << std::chrono::duration_cast<Ms>(lifted - start).count() << " ms), "
            << toConverge << " to converge (" << std::chrono::duration_cast<Ms>(converged - lifted).count()
            << " ms; bound " << bound << " in all), " << quiet << " in 3 s after" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Table, AgentFaults, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<FaultRow>& row) { return row.param.name; });

}  // namespace
}  // namespace virtsnap
