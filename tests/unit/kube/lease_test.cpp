// The per-node Lease against the real embedded API server (ApiHandler + ObjectStore through the
// in-process transport) on a fake clock: LeaseCandidate rounds one at a time, then the LeaderElector's
// loop with its callbacks.

#include "controller/kube/lease.h"

#include <atomic>
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/kube/lease_candidate.h"
#include "controller/kube/lease_lock.h"
#include "controller/kube/rest_client.h"
#include "crds/meta/time.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using nlohmann::json;
using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;
using testsupport::eventually;
using namespace std::chrono_literals;

constexpr const char* kNamespace = "virtsnap-system";
// The product names its per-node Lease; the runtime takes the name as given.
constexpr const char* kLeaseName = "virtsnap-agent-node-1";
constexpr const char* kLeasesPath = "/apis/coordination.k8s.io/v1/namespaces/virtsnap-system/leases";

// A wall clock of its own per candidate, so machines can disagree on the time.
WallClock wallClockAt(std::chrono::system_clock::time_point start,
                      std::shared_ptr<testsupport::FakeClock> steady) {
  const auto origin = steady->now();
  return [start, origin, steady] {
    return start + std::chrono::duration_cast<std::chrono::system_clock::duration>(steady->now() - origin);
  };
}

const std::chrono::system_clock::time_point kMay1st{std::chrono::seconds(1714564800)};

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-lease";
    options.client.qps = 0;  // no limiter: nothing may move the fake clock but the test
    options.namespaces = {kNamespace};
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    client_ = api_->client();
  }

  void TearDown() override {
    electors_.clear();  // stops and joins them before the server goes
    client_.reset();
    api_.reset();
  }

  LeaseCandidate candidate(const std::string& identity,
                           std::chrono::system_clock::time_point wallStart = kMay1st) {
    return LeaseCandidate(LeaseLock(client_, kNamespace, kLeaseName), identity, 15s, clock_,
                          wallClockAt(wallStart, clock_));
  }

  json lease() {
    auto got = client_->get(meta::resources::leases(), kNamespace, kLeaseName);
    EXPECT_TRUE(got.has_value()) << got.error().describe();
    return got.has_value() ? got.value() : json::object();
  }
  json spec() { return lease().value("spec", json::object()); }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::shared_ptr<RestClient> client_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::vector<std::unique_ptr<LeaderElector>> electors_;
};

// One candidate's rounds.

TEST_F(LeaseTest, AFreeLeaseIsCreatedAndHeld) {
  LeaseCandidate a = candidate("agent-a");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  EXPECT_TRUE(a.holds());

  json lease = this->lease();
  EXPECT_EQ(lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lease["metadata"]["name"], "virtsnap-agent-node-1");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "agent-a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(lease["spec"]["acquireTime"], "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(lease["spec"]["renewTime"], "2024-05-01T12:00:00.000000Z");
}

TEST_F(LeaseTest, TheHolderRenewsKeepingItsAcquireTime) {
  LeaseCandidate a = candidate("agent-a");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  const std::string rv = lease()["metadata"]["resourceVersion"];
  clock_->advance(2500ms);
  ASSERT_TRUE(a.tryAcquireOrRenew());
  json after = lease();
  EXPECT_NE(after["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(after["spec"]["acquireTime"], "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(after["spec"]["renewTime"], "2024-05-01T12:00:02.500000Z");
  EXPECT_EQ(after["spec"]["leaseTransitions"], 0);
}

TEST_F(LeaseTest, ASecondCandidateWaitsWhileTheHolderRenews) {
  LeaseCandidate a = candidate("agent-a");
  LeaseCandidate b = candidate("agent-b");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  for (int i = 0; i < 30; ++i) {  // a minute, four lease durations
    EXPECT_FALSE(b.tryAcquireOrRenew()) << "round " << i;
    EXPECT_FALSE(b.lastError().has_value()) << "losing to a valid holder is no error";
    clock_->advance(2s);
    ASSERT_TRUE(a.tryAcquireOrRenew());
  }
  EXPECT_EQ(b.observed().holderIdentity, "agent-a");
  EXPECT_EQ(spec()["holderIdentity"], "agent-a");
}

TEST_F(LeaseTest, ACandidateTakesOverOnceTheDurationPassesOnItsOwnClock) {
  LeaseCandidate a = candidate("agent-a");
  // b's wall clock is an hour ahead: comparing a's renewTime with it would make the Lease look long
  // expired. b must time the expiry from when it saw the Lease last change.
  LeaseCandidate b = candidate("agent-b", kMay1st + 1h);
  ASSERT_TRUE(a.tryAcquireOrRenew());
  clock_->advance(5s);
  ASSERT_TRUE(a.tryAcquireOrRenew());   // a's last renewal
  EXPECT_FALSE(b.tryAcquireOrRenew());  // b sees it now
  clock_->advance(14s);
  EXPECT_FALSE(b.tryAcquireOrRenew()) << "unchanged for 14 s of b's time: still a's";
  clock_->advance(1s);
  ASSERT_TRUE(b.tryAcquireOrRenew()) << "unchanged for 15 s: expired";

  json spec = this->spec();
  EXPECT_EQ(spec["holderIdentity"], "agent-b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_EQ(spec["acquireTime"], "2024-05-01T13:00:20.000000Z");

  // a comes back: its write on the old resourceVersion conflicts, and it reads that b holds the Lease.
  EXPECT_FALSE(a.tryAcquireOrRenew());
  EXPECT_FALSE(a.holds());
  EXPECT_EQ(a.observed().holderIdentity, "agent-b");
}

TEST_F(LeaseTest, AReleaseLetsTheNextCandidateTakeOverAtOnce) {
  LeaseCandidate a = candidate("agent-a");
  LeaseCandidate b = candidate("agent-b");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  EXPECT_FALSE(b.tryAcquireOrRenew());
  ASSERT_TRUE(a.release());
  EXPECT_FALSE(a.holds());
  EXPECT_EQ(spec()["holderIdentity"], "");
  EXPECT_EQ(spec()["leaseDurationSeconds"], 1);

  ASSERT_TRUE(b.tryAcquireOrRenew()) << "no wait for the old duration";
  EXPECT_EQ(spec()["holderIdentity"], "agent-b");
  EXPECT_EQ(spec()["leaseDurationSeconds"], 15);
  EXPECT_TRUE(a.release()) << "nothing to release";
  EXPECT_EQ(spec()["holderIdentity"], "agent-b");
}

TEST_F(LeaseTest, LeaseTransitionsCountTheChangesOfHolder) {
  LeaseCandidate a = candidate("agent-a");
  LeaseCandidate b = candidate("agent-b");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a.release());
    ASSERT_TRUE(b.tryAcquireOrRenew());
    ASSERT_TRUE(b.tryAcquireOrRenew());  // a renewal is no transition
    ASSERT_TRUE(b.release());
    ASSERT_TRUE(a.tryAcquireOrRenew());
  }
  EXPECT_EQ(spec()["leaseTransitions"], 6);
  EXPECT_EQ(spec()["holderIdentity"], "agent-a");
}

TEST_F(LeaseTest, AConflictOnRenewFallsBackToReadingTheLease) {
  LeaseCandidate a = candidate("agent-a");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  api_->handler().faults().add(
      apiserver::Fault{.method = "PUT", .pathPrefix = kLeasesPath, .status = 409, .times = 1});
  clock_->advance(2s);
  EXPECT_TRUE(a.tryAcquireOrRenew()) << "the re-read shows the Lease still ours; the second write goes in";
  EXPECT_EQ(api_->handler().faults().injected(), 1);
  EXPECT_EQ(spec()["renewTime"], "2024-05-01T12:00:02.000000Z");
}

TEST_F(LeaseTest, AConflictOnTakeOverMeansAnotherCandidateWon) {
  LeaseCandidate a = candidate("agent-a");
  LeaseCandidate b = candidate("agent-b");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  ASSERT_TRUE(a.release());
  api_->handler().faults().add(
      apiserver::Fault{.method = "PUT", .pathPrefix = kLeasesPath, .status = 409, .times = 1});
  EXPECT_FALSE(b.tryAcquireOrRenew());
  ASSERT_TRUE(b.lastError().has_value());
  EXPECT_EQ(b.lastError()->kind, ErrorKind::Conflict);
  EXPECT_EQ(spec()["holderIdentity"], "");
}

TEST_F(LeaseTest, TwoCandidatesCreatingAtOnceLeaveOneHolder) {
  LeaseCandidate a = candidate("agent-a");
  LeaseCandidate b = candidate("agent-b");
  bool aHolds = false;
  bool bHolds = false;
  std::thread first([&] { aHolds = a.tryAcquireOrRenew(); });
  std::thread second([&] { bHolds = b.tryAcquireOrRenew(); });
  first.join();
  second.join();
  EXPECT_NE(aHolds, bHolds);
  EXPECT_EQ(spec()["holderIdentity"], aHolds ? "agent-a" : "agent-b");
}

TEST_F(LeaseTest, ServerErrorsAreReportedNotHeld) {
  LeaseCandidate a = candidate("agent-a");
  api_->handler().faults().add(apiserver::Fault{.method = "", .pathPrefix = kLeasesPath, .status = 503});
  EXPECT_FALSE(a.tryAcquireOrRenew());
  ASSERT_TRUE(a.lastError().has_value());
  EXPECT_EQ(a.lastError()->kind, ErrorKind::ServerError);
}

TEST(LeaseRecordTest, MicroTimeAndSpecRoundTrip) {
  const auto time = kMay1st + 1234567us;
  EXPECT_EQ(meta::formatMicroTime(time), "2024-05-01T12:00:01.234567Z");
  LeaseRecord record{"agent-a", 15, time, time + 2s, 3};
  EXPECT_EQ(LeaseRecord::fromSpec(record.toSpec()), record);
  EXPECT_EQ(LeaseRecord::fromSpec(json::object()), LeaseRecord{});
}

TEST(LeaderElectionConfigTest, RefusesInconsistentTimings) {
  LeaderElectionConfig config{.ns = "ns", .name = "lease", .identity = "me"};
  EXPECT_EQ(validateLeaderElectionConfig(config), "");
  config.renewDeadline = 15s;
  EXPECT_NE(validateLeaderElectionConfig(config), "");
  config.renewDeadline = 2s;
  EXPECT_NE(validateLeaderElectionConfig(config), "") << "renewDeadline must exceed 1.2 x retryPeriod";
  config.renewDeadline = 10s;
  config.identity.clear();
  EXPECT_NE(validateLeaderElectionConfig(config), "");
}

// The elector's loop. Callbacks are recorded in order; the test moves the fake clock and waits for
// the elector threads to finish their rounds and park again.

class Recorded {
 public:
  LeaderCallbacks callbacks(const std::string& who) {
    return LeaderCallbacks{
        .onStartedLeading = [this, who] { add(who + " started"); },
        .onStoppedLeading = [this, who] { add(who + " stopped"); },
        .onNewLeader =
            [this, who](const std::string& leader) {
              add(who + " sees " + (leader.empty() ? "none" : leader));
            },
    };
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  void add(std::string call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
  }
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
};

class LeaderElectorTest : public LeaseTest {
 protected:
  LeaderElector& elector(const std::string& identity, bool releaseOnStop = true) {
    LeaderElectionConfig config{.ns = kNamespace, .name = kLeaseName, .identity = identity};
    config.releaseOnStop = releaseOnStop;
    electors_.push_back(std::make_unique<LeaderElector>(client_, config, recorded_.callbacks(identity),
                                                        clock_, wallClockAt(kMay1st, clock_),
                                                        seededRandom(11)));
    return *electors_.back();
  }
  // Moves the clock and waits until each named elector has done at least `rounds` more rounds and
  // `parked` threads wait on the clock again.
  void advance(std::chrono::nanoseconds by, std::vector<std::pair<LeaderElector*, int>> expected,
               int parked) {
    std::vector<std::uint64_t> before;
    for (auto& [elector, rounds] : expected) {
      before.push_back(elector->rounds());
    }
    clock_->advance(by);
    ASSERT_TRUE(eventually([&] {
      for (std::size_t i = 0; i < expected.size(); ++i) {
        if (expected[i].first->rounds() < before[i] + static_cast<std::uint64_t>(expected[i].second)) {
          return false;
        }
      }
      return clock_->waiting() == parked;
    })) << "the electors did not settle";
  }

  Recorded recorded_;
};

TEST_F(LeaderElectorTest, LeadsRenewsAndReleasesOnStop) {
  LeaderElector& a = elector("agent-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));
  EXPECT_EQ(a.leader(), "agent-a");
  EXPECT_EQ(recorded_.calls(), (std::vector<std::string>{"agent-a sees agent-a", "agent-a started"}));

  for (int i = 1; i <= 3; ++i) {
    advance(2s, {{&a, 1}}, 1);
    EXPECT_EQ(spec()["renewTime"], "2024-05-01T12:00:0" + std::to_string(2 * i) + ".000000Z");
  }
  a.stop();
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(recorded_.calls().back(), "agent-a stopped");
  EXPECT_EQ(spec()["holderIdentity"], "");
}

TEST_F(LeaderElectorTest, ASecondAgentWaitsThenTakesOverWhenTheFirstReleases) {
  LeaderElector& a = elector("agent-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));
  LeaderElector& b = elector("agent-b");
  b.start();
  ASSERT_TRUE(eventually([&] { return b.rounds() == 1 && clock_->waiting() == 2; }));
  EXPECT_EQ(b.leader(), "agent-a");

  // 5 s steps: each elector has one deadline in each (a renews every 2 s, b retries within 2-4.4 s).
  for (int i = 0; i < 12; ++i) {
    advance(5s, {{&a, 1}, {&b, 1}}, 2);
    ASSERT_TRUE(a.isLeader());
    ASSERT_FALSE(b.isLeader()) << "after " << (i + 1) * 5 << " s";
  }

  a.stop();  // releases
  advance(5s, {{&b, 1}}, 1);
  EXPECT_TRUE(b.isLeader());
  EXPECT_EQ(spec()["holderIdentity"], "agent-b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
  std::vector<std::string> calls = recorded_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "agent-b started"), 1);
  EXPECT_LT(std::find(calls.begin(), calls.end(), "agent-a stopped"),
            std::find(calls.begin(), calls.end(), "agent-b started"));
}

TEST_F(LeaderElectorTest, ASecondAgentTakesOverAfterTheDurationWhenTheFirstVanishes) {
  LeaderElector& a = elector("agent-a", /*releaseOnStop=*/false);
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));
  LeaderElector& b = elector("agent-b");
  b.start();
  ASSERT_TRUE(eventually([&] { return b.rounds() == 1 && clock_->waiting() == 2; }));

  // a goes away without releasing (as a killed process would): nothing renews the Lease. b retries
  // every 2-4.4 s and takes the Lease once 15 s have passed since it last saw it change.
  a.stop();
  for (int seconds = 5; seconds < 15; seconds += 5) {
    advance(5s, {{&b, 1}}, 1);
    ASSERT_FALSE(b.isLeader()) << "after " << seconds << " s";
  }
  advance(5s, {{&b, 1}}, 1);
  EXPECT_TRUE(b.isLeader());
  EXPECT_EQ(spec()["holderIdentity"], "agent-b");
  EXPECT_EQ(spec()["leaseTransitions"], 1);
}

TEST_F(LeaderElectorTest, LeadershipEndsWhenRenewalsFailForTheRenewDeadline) {
  LeaderElector& a = elector("agent-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));
  api_->handler().faults().add(apiserver::Fault{.method = "", .pathPrefix = kLeasesPath, .status = 500});

  // Rounds fail at 2, 4, 6, 8 and 10 s; the deadline is 10 s after the first failure.
  for (int i = 1; i <= 5; ++i) {
    advance(2s, {{&a, 1}}, 1);
    EXPECT_TRUE(a.isLeader()) << "at " << 2 * i << " s";
    ASSERT_TRUE(a.lastError().has_value());
    EXPECT_EQ(a.lastError()->kind, ErrorKind::ServerError);
  }
  advance(2s, {{&a, 1}}, 1);
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(recorded_.calls().back(), "agent-a stopped");

  // The server recovers: a is a candidate again and, the Lease still naming it, leads again.
  api_->handler().faults().clear();
  advance(5s, {{&a, 1}}, 1);
  EXPECT_TRUE(a.isLeader());
  std::vector<std::string> calls = recorded_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "agent-a started"), 2);
}

TEST_F(LeaderElectorTest, AnotherHolderFoundOnRenewEndsLeadershipAtOnce) {
  LeaderElector& a = elector("agent-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.isLeader() && clock_->waiting() == 1; }));

  // Someone else writes the Lease: a's next renewal conflicts, and the re-read names the intruder.
  json lease = this->lease();
  lease["spec"]["holderIdentity"] = "intruder";
  lease["spec"]["renewTime"] = "2024-05-01T12:00:00.500000Z";
  ASSERT_TRUE(client_->update(meta::resources::leases(), lease, WriteOptions{}).has_value());

  advance(2s, {{&a, 1}}, 1);
  EXPECT_FALSE(a.isLeader());
  EXPECT_EQ(a.leader(), "intruder");
  EXPECT_FALSE(a.lastError().has_value());
  std::vector<std::string> calls = recorded_.calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[calls.size() - 2], "agent-a sees intruder");
  EXPECT_EQ(calls.back(), "agent-a stopped");

  a.stop();
  EXPECT_EQ(spec()["holderIdentity"], "intruder") << "a must not release a Lease it does not hold";
}

}  // namespace
}  // namespace virtsnap::kube
