// The real agent binary SIGKILLed in the middle of creates, reverts and deletes, many times and at
// seeded random points, and started again: no snapshot taken twice, nothing orphaned, no finalizer
// left stuck, every SnapshotRevert executed once, and the status tree equal to libvirt's.
//
// Both sides of the agent outlive it, as in a cluster: the API server runs as a process of its own
// (virtsnap-apiserver), and libvirt is libvirtd's test driver (test+unix:///default), whose state
// libvirtd keeps while any connection to it is open - this test holds one for its whole run. (The
// in-process test:///default would die with the agent, and its restart would only exercise the
// metadata recovery.) The seed is printed on failure; VIRTSNAP_SEED=<n> replays it.

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "drivers/libvirt/domain_xml.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/event_counts.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirt_snapshots.h"
#include "tests/support/libvirtd_agent_test.h"
#include "tests/support/libvirtd_test_driver.h"
#include "tests/support/shell_command.h"
#include "tests/support/test_driver_domain.h"
#include "tests/support/tree_lines.h"

namespace virtsnap {
namespace {

using kube::TypedClient;
using namespace std::chrono_literals;

constexpr const char* kNode = "crash-node";
constexpr const char* kLibvirtUri = testsupport::kLibvirtdTestUri;
constexpr int kOperations = 20;  // each with one kill, a quarter of them with a second one

using testsupport::joined;
using testsupport::treeLines;

// How many times libvirt started this run's domain (every revert restarts it; a start by the agent would
// too), counted from the lifecycle events libvirtd sends to a connection of the test's own. The
// domain's id cannot count them: the test driver numbers the domains of all its clients from one
// counter (test_driver.c, testDomainStartState), so a domain of another process started meanwhile
// (a parallel run of this test, the RBAC test) makes the next restart of this one skip ids.
class DomainStarts {
 public:
  DomainStarts(const std::string& uri, const std::string& domain)
      : state_(std::make_shared<State>(domain, domain + "-sync")) {
    // The caller opened a LibvirtDriver connection first: libvirt's event loop runs (a thread of
    // that driver's), which a remote connection needs before it opens to receive events.
    conn_ = virConnectOpen(uri.c_str());
    if (conn_ != nullptr) {
      // libvirt frees its reference to the state once no event can reach the callback any more.
      auto* held = new std::shared_ptr<State>(state_);
      callback_ = virConnectDomainEventRegisterAny(
          conn_, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(onLifecycle), held,
          [](void* opaque) { delete static_cast<std::shared_ptr<State>*>(opaque); });
      if (callback_ < 0) {
        delete held;
      }
    }
  }
  ~DomainStarts() {
    if (conn_ != nullptr) {
      if (callback_ >= 0) {
        virConnectDomainEventDeregisterAny(conn_, callback_);
      }
      virConnectClose(conn_);
    }
  }
  DomainStarts(const DomainStarts&) = delete;
  DomainStarts& operator=(const DomainStarts&) = delete;

  bool listening() const { return callback_ >= 0; }

  // The starts so far, once every event libvirtd queued before this call has been handled: libvirtd
  // sends the events of a connection in the order they happened, so when the undefinition of a
  // domain defined here for the purpose arrives, those before it have. Empty when it does not come.
  std::optional<int> count() {
    const int wanted = ++barriersSent_;
    drivers::DomainSpec barrier;
    barrier.name = state_->barrier;
    barrier.type = "test";
    barrier.arch = "i686";
    barrier.memoryBytes = 1 << 20;
    auto xml = drivers::libvirt::renderDomainXml(barrier);
    if (!xml) {
      return std::nullopt;
    }
    virDomainPtr defined = virDomainDefineXML(conn_, xml.value().c_str());
    if (defined == nullptr) {
      return std::nullopt;
    }
    const bool undefined = virDomainUndefine(defined) == 0;
    virDomainFree(defined);
    std::unique_lock lock(state_->mutex);
    if (!undefined || !state_->changed.wait_for(lock, std::chrono::seconds(10),
                                                [&] { return state_->barriersSeen >= wanted; })) {
      return std::nullopt;
    }
    return state_->starts;
  }

 private:
  struct State {
    State(std::string domainName, std::string barrierName)
        : domain(std::move(domainName)), barrier(std::move(barrierName)) {}
    const std::string domain;
    const std::string barrier;
    std::mutex mutex;
    std::condition_variable changed;
    int starts = 0;
    int barriersSeen = 0;
  };

  static int onLifecycle(virConnectPtr /*conn*/, virDomainPtr domain, int event, int /*detail*/,
                         void* opaque) {
    State& state = **static_cast<std::shared_ptr<State>*>(opaque);
    const char* name = virDomainGetName(domain);
    if (name == nullptr) {
      return 0;
    }
    std::lock_guard lock(state.mutex);
    if (event == VIR_DOMAIN_EVENT_STARTED && state.domain == name) {
      ++state.starts;
    } else if (event == VIR_DOMAIN_EVENT_UNDEFINED && state.barrier == name) {
      ++state.barriersSeen;
      state.changed.notify_all();
    }
    return 0;
  }

  std::shared_ptr<State> state_;
  virConnectPtr conn_ = nullptr;
  int callback_ = -1;
  int barriersSent_ = 0;
};

// What a SnapshotRevert's status said when it was first seen done: later restarts must not change it.
struct RevertRecord {
  std::string target;
  std::optional<std::string> previous;  // the model's current before the revert
  std::string startTime;
  std::string completionTime;
};

class AgentCrash : public testsupport::LibvirtdAgentTest {
 protected:
  void SetUp() override {
    drivers::libvirt::LibvirtDriverOptions options;
    options.revertSpacing = 0ms;
    ASSERT_NO_FATAL_FAILURE(setUpRun("crash", options));
    starts_ = std::make_unique<DomainStarts>(kLibvirtUri, domainName_);
    ASSERT_TRUE(starts_->listening()) << "cannot receive libvirt's domain events";
    auto server = testsupport::ApiServerProcess::start(dir_, {ns_, "virtsnap-system"});
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    reportFailure(30000);
    agent_.reset();
    server_.reset();
    starts_.reset();
    removeRun();
  }

  // Starts the agent (the same identity each time, as a restarted pod keeps its name, so it takes its
  // own Lease back at once) and waits for /readyz.
  void startAgent() {
    if (!agent_) {
      agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / "agent.log");
    }
    healthPort_ = testsupport::freeLoopbackPort();
    ASSERT_TRUE(agent_->start(
        {"--kubeconfig", server_->kubeconfig().string(), "--node-name", kNode, "--libvirt-uri", kLibvirtUri,
         "--identity", "crash-agent", "--metrics-bind-address", "0", "--health-probe-bind-address",
         "127.0.0.1:" + std::to_string(healthPort_), "--poll-period", "1", "--workers", "2",
         // Every operation waits for the Domain's status tree: written as soon as it settles.
         "--tree-status-delay", "0"}));
  }

  std::optional<crds::Domain> domain() {
    auto got = TypedClient<crds::Domain>(server_->client()).get(ns_, "web");
    return got ? std::optional<crds::Domain>(got.value()) : std::nullopt;
  }

  std::optional<crds::Snapshot> snapshot(const std::string& name) {
    auto got = TypedClient<crds::Snapshot>(server_->client()).get(ns_, name);
    return got ? std::optional<crds::Snapshot>(got.value()) : std::nullopt;
  }

  std::optional<crds::SnapshotRevert> revert(const std::string& name) {
    auto got = TypedClient<crds::SnapshotRevert>(server_->client()).get(ns_, name);
    return got ? std::optional<crds::SnapshotRevert>(got.value()) : std::nullopt;
  }

  // The tree libvirt reports on the test's own connection.
  Expected<drivers::SnapshotTree, std::string> libvirtTree() {
    auto inLibvirt = testsupport::readLibvirtSnapshots(*observer_, domainName_);
    if (!inLibvirt) {
      return unexpected(inLibvirt.error());
    }
    return std::move(inLibvirt->tree);
  }

  // Empty when libvirt's tree, the Domain's status tree and the Snapshot objects (every one Ready,
  // none missing, none extra, each status placed as in the tree) all equal the model; else what differs.
  std::string disagreement(const drivers::SnapshotTree& model) {
    const std::vector<std::string> expected = treeLines(model);
    auto actual = libvirtTree();
    if (!actual) {
      return actual.error();
    }
    if (treeLines(*actual) != expected) {
      return "libvirt " + joined(treeLines(*actual)) + "!= model " + joined(expected);
    }
    auto web = domain();
    if (!web || !web->status) {
      return "no Domain status";
    }
    if (treeLines(*web->status) != expected) {
      return "Domain status " + joined(treeLines(*web->status)) + "!= model " + joined(expected);
    }
    auto snapshots = TypedClient<crds::Snapshot>(server_->client()).list(ns_);
    if (!snapshots) {
      return snapshots.error().message;
    }
    if (snapshots->items.size() != model.size()) {
      return std::to_string(snapshots->items.size()) + " Snapshot objects for " +
             std::to_string(model.size()) + " snapshots";
    }
    for (const auto& object : snapshots->items) {
      const std::string name = object.metadata.name.value_or("");
      if (!model.contains(name) || !object.status || object.status->phase != crds::SnapshotPhase::Ready) {
        return "Snapshot " + name + " is not Ready or not in the tree";
      }
      if (object.status->parent != model.parentOf(name) ||
          object.status->current.value_or(false) != (model.current() == name) ||
          object.status->children.value_or(std::vector<std::string>{}) != model.childrenOf(name)) {
        return "Snapshot " + name + "'s status disagrees with the tree";
      }
    }
    return {};
  }

  // libvirt's id of the domain while it runs, -1 while it does not (what it tells is only that: see
  // DomainStarts).
  int domainId() {
    auto run = testsupport::runShell(std::string("virsh -q -c ") + kLibvirtUri + " domid " + domainName_);
    return run.exitCode == 0 ? std::atoi(run.output.c_str()) : -1;
  }

  // The sum of the counts of the Events of `reason` about object `name`.
  int eventCount(const std::string& name, const std::string& reason) {
    return testsupport::eventCount(*server_->client(), ns_, name, reason);
  }

  // Every Event of the namespace, one line each, for a failure's message.
  std::string eventLog() {
    auto events = server_->client()->list(meta::resources::events(), ns_, {});
    std::string out;
    for (const auto& event : events ? events->value("items", nlohmann::json::array()) : nlohmann::json()) {
      out += event.value("lastTimestamp", "") + " " +
             event.value("involvedObject", nlohmann::json::object()).value("name", "") + " " +
             event.value("reason", "") + " x" + std::to_string(event.value("count", 1)) + ": " +
             event.value("message", "") + "\n";
    }
    return out;
  }

  std::unique_ptr<DomainStarts> starts_;
};

TEST_F(AgentCrash, KilledInTheMiddleOfCreatesRevertsAndDeletesItRecovers) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (VIRTSNAP_SEED)");
  startAgent();
  waitReady();
  crds::Domain web = testsupport::testDriverDomain(ns_, "web", kNode);
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).create(web).has_value());
  ASSERT_TRUE(within(30s, [&] {
    auto got = domain();
    return got && got->status && got->status->state == crds::DomainState::Running && domainId() > 0;
  })) << "the Domain never ran";

  TypedClient<crds::Snapshot> snapshots(server_->client());
  TypedClient<crds::SnapshotRevert> reverts(server_->client());
  drivers::SnapshotTree model;
  std::map<std::string, RevertRecord> revertRecords;
  std::set<std::string> created;          // every Snapshot the test made
  std::map<std::string, int> killPoints;  // where the kills landed, for the record
  // Where the kills are placed, per kind of operation (see below).
  std::map<std::string, std::chrono::microseconds> windows = {
      {"create", 20ms}, {"revert", 20ms}, {"delete", 20ms}};
  int kills = 0;

  for (int step = 0; step < kOperations; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const auto order = model.topologicalOrder();
    // Creates while the tree is small, then a mix; a delete keeps at least one snapshot.
    const int dice = static_cast<int>(random_() % 3);
    std::string operation;
    std::string subject;  // the object the operation is about
    std::string target;
    std::optional<std::string> previous = model.current();
    const std::optional<int> startsBefore = starts_->count();
    ASSERT_TRUE(startsBefore.has_value()) << "libvirt's domain events did not come";
    if (order.size() < 2 || dice == 0) {
      subject = "s" + std::to_string(step);
      auto made = snapshots.create(newSnapshot(subject));
      ASSERT_TRUE(made.has_value()) << made.error().message;
      created.insert(subject);
      ASSERT_TRUE(
          model.create(drivers::SnapshotRecord{subject, std::nullopt, drivers::SnapshotLocation::Internal}));
      operation = "create";
    } else if (dice == 1) {
      target = order[random_() % order.size()].name;
      subject = "r" + std::to_string(step);
      crds::SnapshotRevert object;
      object.metadata.name = subject;
      object.metadata.namespaceName = ns_;
      object.spec.domainName = "web";
      object.spec.snapshotName = target;
      auto made = reverts.create(object);
      ASSERT_TRUE(made.has_value()) << made.error().message;
      ASSERT_FALSE(model.revert(target));
      revertRecords[subject] = RevertRecord{target, previous, "", ""};
      operation = "revert";
    } else {
      subject = order[random_() % order.size()].name;
      auto removed = snapshots.remove(ns_, subject);
      ASSERT_TRUE(removed.has_value()) << removed.error().message;
      ASSERT_TRUE(model.remove(subject, drivers::DeleteOptions{}));
      operation = "delete";
    }
    SCOPED_TRACE(operation + " " + subject + (target.empty() ? "" : " to " + target));

    // The kill: at a seeded random point of a window per kind of operation, which adapts to how long
    // the operations take on this machine now (a few ms to tens of ms): a kill that came before the
    // agent touched anything widens it, one that came after the operation was recorded narrows it.
    auto& window = windows[operation];
    std::this_thread::sleep_for(std::chrono::microseconds(random_() % window.count()));
    agent_->kill();
    ++kills;
    // Where it landed, read with the agent dead: -1 before, 0 in the middle, 1 after.
    int landed = 0;
    std::string point;
    auto inLibvirt = [&](const std::string& name) {
      auto tree = libvirtTree();
      return tree && tree->contains(name);
    };
    if (operation == "create") {
      auto object = snapshot(subject);
      if (object && object->status && object->status->phase == crds::SnapshotPhase::Ready) {
        landed = 1, point = "recorded";
      } else if (inLibvirt(subject)) {
        point = "taken, not recorded";
      } else {
        landed = -1, point = object && object->metadata.hasFinalizer(crds::kSnapshotFinalizer)
                                 ? "finalizer added, not taken"
                                 : "nothing done";
      }
    } else if (operation == "revert") {
      auto object = revert(subject);
      auto phaseIs = [&](crds::RevertPhase phase) {
        return object && object->status && object->status->phase == phase;
      };
      if (phaseIs(crds::RevertPhase::Succeeded)) {
        landed = 1, point = "recorded";
      } else if (auto startsNow = starts_->count(); startsNow && *startsNow > *startsBefore) {
        point = "reverted, not recorded";
      } else if (phaseIs(crds::RevertPhase::Running)) {
        point = "Running, not reverted";
      } else {
        landed = -1, point = "not started";
      }
    } else if (!snapshot(subject)) {
      landed = 1, point = "finalizer released";
    } else if (!inLibvirt(subject)) {
      point = "deleted, finalizer kept";
    } else {
      landed = -1, point = "not deleted";
    }
    killPoints[operation + ": " + point]++;
    if (landed < 0) {
      window = std::min<std::chrono::microseconds>(window * 3 / 2, 500ms);
    } else if (landed > 0) {
      window = std::max<std::chrono::microseconds>(window * 2 / 3, 1ms);
    }

    startAgent();
    if (random_() % 4 == 0) {  // once more, while the restarted agent starts up and recovers
      std::this_thread::sleep_for(std::chrono::microseconds(random_() % 800'000));
      agent_->kill();
      ++kills;
      startAgent();
    }
    waitReady();

    // The operation completes, exactly once, and everything agrees again.
    std::string last;
    const bool converged = within(30s, [&] {
      if (operation == "create") {
        auto object = snapshot(subject);
        if (!object || !object->status || object->status->phase != crds::SnapshotPhase::Ready) {
          last = "Snapshot " + subject + " is not Ready";
          return false;
        }
      } else if (operation == "revert") {
        auto object = revert(subject);
        if (!object || !object->status || object->status->phase != crds::RevertPhase::Succeeded) {
          last = "SnapshotRevert " + subject + " has not Succeeded";
          return false;
        }
      } else if (snapshot(subject)) {
        last = "Snapshot " + subject + " is still there (finalizer stuck?)";
        return false;
      }
      last = disagreement(model);
      return last.empty();
    });
    ASSERT_TRUE(converged) << last;

    // Reverts done, counted by libvirt's events: one per SnapshotRevert (none for a create or a delete).
    const std::optional<int> startsAfter = starts_->count();
    ASSERT_TRUE(startsAfter.has_value()) << "libvirt's domain events did not come";
    const int revertsDone = *startsAfter - *startsBefore;
    if (operation != "revert") {
      EXPECT_EQ(revertsDone, 0) << "the domain was reverted or restarted by a " << operation;
    } else {
      // Also to the snapshot that was current already: the revert mark tells the restarted agent.
      EXPECT_EQ(revertsDone, 1) << "the revert did not happen exactly once; the Events:\n" << eventLog();
    }

    // Every revert so far: its record written once and never again.
    for (auto& [name, record] : revertRecords) {
      auto object = revert(name);
      ASSERT_TRUE(object && object->status) << name;
      const auto& status = *object->status;
      EXPECT_EQ(status.phase, crds::RevertPhase::Succeeded) << name;
      EXPECT_EQ(status.previousSnapshot, record.previous) << name << " to " << record.target;
      if (record.startTime.empty()) {
        record.startTime = status.startTime.value_or("");
        record.completionTime = status.completionTime.value_or("");
        EXPECT_FALSE(record.startTime.empty() || record.completionTime.empty()) << name;
      }
      EXPECT_EQ(status.startTime.value_or(""), record.startTime) << name << " was started again";
      EXPECT_EQ(status.completionTime.value_or(""), record.completionTime) << name << " was completed again";
      EXPECT_LE(eventCount(name, "Reverted"), 1) << name << " was reverted more than once";
    }
    for (const std::string& name : created) {
      EXPECT_LE(eventCount(name, "Created"), 1) << name << " was taken more than once";
      EXPECT_EQ(eventCount(name, "SnapshotFailed"), 0) << name;
    }
    if (HasFailure()) {
      return;
    }
  }

  // Finally every Snapshot and the Domain are deleted, and every finalizer completes.
  for (const auto& entry : model.topologicalOrder()) {
    ASSERT_TRUE(snapshots.remove(ns_, entry.name).has_value());
  }
  ASSERT_TRUE(within(30s, [&] {
    auto left = snapshots.list(ns_);
    return left && left->items.empty();
  })) << "Snapshots kept their finalizers";
  ASSERT_TRUE(TypedClient<crds::Domain>(server_->client()).remove(ns_, "web").has_value());
  ASSERT_TRUE(within(30s, [&] { return !domain().has_value(); })) << "the Domain kept its finalizer";
  EXPECT_FALSE(observer_->lookupDomain(domainName_).has_value());
  EXPECT_EQ(agent_->stop(), 0);

  std::string where;
  for (const auto& [point, count] : killPoints) {
    where += "\n  " + point + ": " + std::to_string(count);
  }
  std::cout << kills << " kills over " << kOperations << " operations (seed " << seed_
            << "); where they landed:" << where << std::endl;
}

}  // namespace
}  // namespace virtsnap
