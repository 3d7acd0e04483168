#include <chrono>
#include <limits>

#include <gtest/gtest.h>

#include "controller/kube/rate_limiters.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(ItemExponentialRateLimiter, DoublesFromTheBaseAndStopsAtTheMax) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  nanoseconds expected = milliseconds(5);
  // 5 ms * 2^17 = 655.36 s is the last step below 1000 s.
  for (int failure = 0; failure < 18; ++failure) {
    ASSERT_EQ(limiter.when("ns/a"), expected) << "failure " << failure;
    expected *= 2;
  }
  EXPECT_EQ(limiter.when("ns/a"), seconds(1000));
  EXPECT_EQ(limiter.when("ns/a"), seconds(1000));
  EXPECT_EQ(limiter.numRequeues("ns/a"), 20);
}

TEST(ItemExponentialRateLimiter, EachKeyHasItsOwnBackoff) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  EXPECT_EQ(limiter.when("ns/a"), milliseconds(5));
  EXPECT_EQ(limiter.when("ns/a"), milliseconds(10));
  EXPECT_EQ(limiter.when("ns/b"), milliseconds(5));
  EXPECT_EQ(limiter.numRequeues("ns/a"), 2);
  EXPECT_EQ(limiter.numRequeues("ns/b"), 1);
  EXPECT_EQ(limiter.numRequeues("ns/never"), 0);
}

TEST(ItemExponentialRateLimiter, ForgetStartsTheBackoffOver) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  limiter.when("ns/a");
  limiter.when("ns/a");
  limiter.when("ns/b");
  limiter.forget("ns/a");
  EXPECT_EQ(limiter.numRequeues("ns/a"), 0);
  EXPECT_EQ(limiter.when("ns/a"), milliseconds(5));
  EXPECT_EQ(limiter.when("ns/b"), milliseconds(10));  // untouched by forgetting another key
}

TEST(ItemExponentialRateLimiter, NeverOverflowsHoweverManyFailures) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  for (int failure = 0; failure < 10000; ++failure) {
    const nanoseconds delay = limiter.when("ns/a");
    ASSERT_GT(delay, nanoseconds(0)) << "failure " << failure;
    ASSERT_LE(delay, seconds(1000)) << "failure " << failure;
  }
  EXPECT_EQ(limiter.when("ns/a"), seconds(1000));
}

TEST(ItemExponentialRateLimiter, ABaseNearTheLimitOfTheTypeIsCappedNotWrapped) {
  const nanoseconds max(std::numeric_limits<nanoseconds::rep>::max());
  const nanoseconds base(nanoseconds::rep{1} << 62);
  ItemExponentialRateLimiter limiter(base, max);
  EXPECT_EQ(limiter.when("k"), base);
  EXPECT_EQ(limiter.when("k"), max);  // 2^63 does not fit
  EXPECT_EQ(limiter.when("k"), max);
}

TEST(ItemExponentialRateLimiter, ZeroBaseNeverWaits) {
  ItemExponentialRateLimiter limiter(nanoseconds(0), seconds(1));
  EXPECT_EQ(limiter.when("k"), nanoseconds(0));
  EXPECT_EQ(limiter.when("k"), nanoseconds(0));
  EXPECT_EQ(limiter.numRequeues("k"), 2);
}

TEST(BucketRateLimiter, SpendsTheBurstThenSpacesRetriesAtQps) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  BucketRateLimiter limiter(/*qps=*/10, /*burst=*/100, clock);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(limiter.when("ns/key-" + std::to_string(i)), nanoseconds(0)) << i;
  }
  EXPECT_EQ(std::chrono::round<milliseconds>(limiter.when("ns/other")), milliseconds(100));
  EXPECT_EQ(std::chrono::round<milliseconds>(limiter.when("ns/other")), milliseconds(200));
  EXPECT_EQ(limiter.numRequeues("ns/other"), 0);  // keeps no per-key state
}

TEST(BucketRateLimiter, RefillsAsTheClockMoves) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  BucketRateLimiter limiter(/*qps=*/10, /*burst=*/2, clock);
  EXPECT_EQ(limiter.when("a"), nanoseconds(0));
  EXPECT_EQ(limiter.when("a"), nanoseconds(0));
  clock->advance(milliseconds(100));
  EXPECT_EQ(limiter.when("a"), nanoseconds(0));
  EXPECT_GT(limiter.when("a"), nanoseconds(0));
}

// A limiter with scripted answers, to see what MaxOf asks and forwards.
class ScriptedLimiter final : public RateLimiter {
 public:
  explicit ScriptedLimiter(nanoseconds delay, int requeues) : delay_(delay), requeues_(requeues) {}
  nanoseconds when(const std::string& /*key*/) override {
    ++asked;
    return delay_;
  }
  void forget(const std::string& key) override { forgotten = key; }
  int numRequeues(const std::string& /*key*/) override { return requeues_; }

  int asked = 0;
  std::string forgotten;

 private:
  nanoseconds delay_;
  int requeues_;
};

TEST(MaxOfRateLimiter, AsksEveryLimiterAndWaitsForTheLongest) {
  auto shortOne = std::make_unique<ScriptedLimiter>(milliseconds(5), 7);
  auto longOne = std::make_unique<ScriptedLimiter>(milliseconds(300), 2);
  ScriptedLimiter* shortView = shortOne.get();
  ScriptedLimiter* longView = longOne.get();
  std::vector<RateLimiterPtr> limiters;
  limiters.push_back(std::move(shortOne));
  limiters.push_back(std::move(longOne));
  MaxOfRateLimiter limiter(std::move(limiters));

  EXPECT_EQ(limiter.when("ns/a"), milliseconds(300));
  EXPECT_EQ(shortView->asked, 1);  // each records the failure
  EXPECT_EQ(longView->asked, 1);
  EXPECT_EQ(limiter.numRequeues("ns/a"), 7);
  limiter.forget("ns/a");
  EXPECT_EQ(shortView->forgotten, "ns/a");
  EXPECT_EQ(longView->forgotten, "ns/a");
}

TEST(DefaultControllerRateLimiter, PerKeyBackoffUntilTheOverallBucketRunsDry) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  RateLimiterPtr limiter = defaultControllerRateLimiter(clock);
  // One key failing repeatedly: its own exponential backoff (the bucket still has tokens).
  EXPECT_EQ(limiter->when("ns/a"), milliseconds(5));
  EXPECT_EQ(limiter->when("ns/a"), milliseconds(10));
  EXPECT_EQ(limiter->when("ns/a"), milliseconds(20));
  EXPECT_EQ(limiter->numRequeues("ns/a"), 3);
  limiter->forget("ns/a");
  EXPECT_EQ(limiter->numRequeues("ns/a"), 0);
  EXPECT_EQ(limiter->when("ns/a"), milliseconds(5));
  // 96 more first failures spend the burst of 100 (4 tokens went above) ...
  for (int i = 0; i < 96; ++i) {
    ASSERT_EQ(limiter->when("ns/key-" + std::to_string(i)), milliseconds(5)) << i;
  }
  // ... after which the overall 10 qps decides even for a key's first failure.
  EXPECT_EQ(std::chrono::round<milliseconds>(limiter->when("ns/fresh")), milliseconds(100));
  EXPECT_EQ(std::chrono::round<milliseconds>(limiter->when("ns/fresh2")), milliseconds(200));
}

TEST(DefaultControllerRateLimiter, ReachesTheThousandSecondCap) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  RateLimiterPtr limiter = defaultControllerRateLimiter(clock);
  nanoseconds last(0);
  for (int i = 0; i < 40; ++i) {
    last = limiter->when("ns/a");
  }
  EXPECT_EQ(last, seconds(1000));
}

}  // namespace
}  // namespace virtsnap::kube
