#include "controller/kube/watch_backoff.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(double value) : value_(value) {}
  double uniform() override { return value_; }

 private:
  double value_;
};

BackoffPolicy withoutJitter() {
  BackoffPolicy policy;
  policy.jitter = 0.0;
  return policy;
}

std::vector<milliseconds> delays(WatchBackoff& backoff, int count) {
  std::vector<milliseconds> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(std::chrono::round<milliseconds>(backoff.next()));
  }
  return out;
}

TEST(WatchBackoff, DoublesFrom800MillisecondsUpTo30Seconds) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(withoutJitter(), clock, seededRandom(1));
  EXPECT_EQ(delays(backoff, 9),
            (std::vector<milliseconds>{milliseconds(800), milliseconds(1600), milliseconds(3200),
                                       milliseconds(6400), milliseconds(12800), milliseconds(25600),
                                       seconds(30), seconds(30), seconds(30)}));
  EXPECT_EQ(backoff.attempts(), 9);
}

TEST(WatchBackoff, JitterAddsUpToHalfAStepAndNeverPassesTheCap) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(BackoffPolicy{}, clock, seededRandom(42));
  bool jittered = false;
  for (int i = 0; i < 12; ++i) {
    const double step = std::min(800.0 * std::pow(2.0, i), 30000.0);
    const double delay = std::chrono::duration<double, std::milli>(backoff.next()).count();
    EXPECT_GE(delay, step) << "attempt " << i;
    EXPECT_LE(delay, std::min(30000.0, step * 1.5)) << "attempt " << i;
    jittered = jittered || delay > step + 1.0;
  }
  EXPECT_TRUE(jittered) << "a seeded jitter moved no delay at all";
}

TEST(WatchBackoff, TheSameSeedGivesTheSameDelays) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff first(BackoffPolicy{}, clock, seededRandom(7));
  WatchBackoff second(BackoffPolicy{}, clock, seededRandom(7));
  EXPECT_EQ(delays(first, 8), delays(second, 8));
}

TEST(WatchBackoff, TheLargestJitterAtTheCapStaysAtTheCap) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(BackoffPolicy{}, clock, std::make_shared<FixedRandom>(0.999));
  EXPECT_EQ(std::chrono::floor<milliseconds>(backoff.next()), milliseconds(1199));  // 800 * 1.4995
  for (int i = 0; i < 10; ++i) {
    backoff.next();
  }
  EXPECT_EQ(backoff.next(), nanoseconds(seconds(30)));
}

TEST(WatchBackoff, StartsOverAfter120SecondsWithoutAFailure) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(withoutJitter(), clock, seededRandom(1));
  delays(backoff, 4);  // 800 ms .. 6.4 s
  clock->advance(seconds(120));
  EXPECT_EQ(backoff.next(), nanoseconds(milliseconds(800)));
  EXPECT_EQ(backoff.attempts(), 1);
}

TEST(WatchBackoff, FailuresCloserThan120SecondsKeepGrowing) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(withoutJitter(), clock, seededRandom(1));
  std::vector<milliseconds> seen;
  for (int i = 0; i < 8; ++i) {
    seen.push_back(std::chrono::round<milliseconds>(backoff.next()));
    clock->advance(seconds(119));  // a watch that lives just under two minutes, then drops
  }
  EXPECT_EQ(seen.back(), seconds(30));
}

TEST(WatchBackoff, ResetStartsOverAtOnce) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  WatchBackoff backoff(withoutJitter(), clock, seededRandom(1));
  delays(backoff, 5);
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0);
  EXPECT_EQ(backoff.next(), nanoseconds(milliseconds(800)));
}

}  // namespace
}  // namespace virtsnap::kube
