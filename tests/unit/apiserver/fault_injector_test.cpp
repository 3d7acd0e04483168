// The fault injector's rules with a probability: the share of matching requests they hit, replayed by
// the seed, falling through to later rules when not drawn, and counted down only when they hit; and rules
// for one client (by User-Agent).

#include "controller/apiserver/fault_injector.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace virtsnap::apiserver {
namespace {

constexpr const char* kPath = "/apis/virtsnap.io/v1alpha1/namespaces/vms/snapshots/s1";

Fault conflicts(double probability, int times = -1) {
  Fault fault;
  fault.method = "PUT";
  fault.pathPrefix = "/apis/virtsnap.io";
  fault.status = 409;
  fault.times = times;
  fault.probability = probability;
  return fault;
}

// Which of `requests` PUTs were answered by a fault (1) or passed (0).
std::vector<int> hits(FaultInjector& faults, int requests) {
  std::vector<int> out;
  for (int i = 0; i < requests; ++i) {
    out.push_back(faults.match("PUT", kPath, false).has_value() ? 1 : 0);
  }
  return out;
}

TEST(FaultInjectorTest, ARuleWithAProbabilityHitsThatShareOfTheMatchingRequests) {
  FaultInjector faults(7);
  faults.add(conflicts(0.3));
  const std::vector<int> got = hits(faults, 10000);
  int hit = 0;
  for (int one : got) {
    hit += one;
  }
  // Binomial(10000, 0.3): standard deviation 46; 200 is over four of them.
  EXPECT_NEAR(hit, 3000, 200);
  EXPECT_EQ(faults.injected(), hit);
  EXPECT_FALSE(faults.match("GET", kPath, false).has_value());  // not a PUT: no draw, no fault
}

TEST(FaultInjectorTest, TheSeedReplaysTheSameFaults) {
  FaultInjector first(42);
  FaultInjector second(42);
  FaultInjector other(43);
  for (FaultInjector* faults : {&first, &second, &other}) {
    faults->add(conflicts(0.5));
  }
  const std::vector<int> sequence = hits(first, 200);
  EXPECT_EQ(hits(second, 200), sequence);
  EXPECT_NE(hits(other, 200), sequence);
  first.seed(42);  // seeded again: the same sequence from the start
  EXPECT_EQ(hits(first, 200), sequence);
}

TEST(FaultInjectorTest, ARequestNotDrawnFallsThroughAndOnlyHitsCountDown) {
  FaultInjector faults(1);
  faults.add(conflicts(0.5, 3));
  Fault unavailable = conflicts(1.0);
  unavailable.status = 503;
  faults.add(unavailable);
  int conflicted = 0;
  int failed = 0;
  for (int i = 0; i < 100; ++i) {
    auto fault = faults.match("PUT", kPath, false);
    ASSERT_TRUE(fault.has_value());  // the second rule takes whatever the first passes
    (fault->status == 409 ? conflicted : failed)++;
  }
  EXPECT_EQ(conflicted, 3);  // the first rule applied three times, then was gone
  EXPECT_EQ(failed, 97);
}

TEST(FaultInjectorTest, ACertainRuleDrawsNothing) {
  // A probability-1 rule before a random one leaves the random one's sequence as it would be alone.
  FaultInjector alone(9);
  alone.add(conflicts(0.5));
  FaultInjector after(9);
  Fault once = conflicts(1.0, 5);
  once.status = 500;
  after.add(once);
  after.add(conflicts(0.5));
  for (int i = 0; i < 5; ++i) {
    auto fault = after.match("PUT", kPath, false);
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->status, 500);
  }
  EXPECT_EQ(hits(after, 200), hits(alone, 200));
}

TEST(FaultInjectorTest, ARuleForOneUserAgentSparesTheOthers) {
  FaultInjector faults;
  Fault agentOnly = conflicts(1.0);
  agentOnly.userAgent = "virtsnap-agent";
  faults.add(agentOnly);
  EXPECT_FALSE(faults.match("PUT", kPath, false, "virtsnap-test").has_value());
  EXPECT_FALSE(faults.match("PUT", kPath, false).has_value());
  EXPECT_TRUE(faults.match("PUT", kPath, false, "virtsnap-agent/0.1").has_value());  // a prefix
  EXPECT_EQ(faults.injected(), 1);
}

}  // namespace
}  // namespace virtsnap::apiserver
