#include "controller/kube/token_bucket.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucket, SpendsTheBurstThenRefillsAtQps) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  TokenBucket bucket(/*qps=*/10, /*burst=*/3, clock);
  EXPECT_TRUE(bucket.tryTake());
  EXPECT_TRUE(bucket.tryTake());
  EXPECT_TRUE(bucket.tryTake());
  EXPECT_FALSE(bucket.tryTake());
  clock->advance(milliseconds(99));
  EXPECT_FALSE(bucket.tryTake());
  clock->advance(milliseconds(1));
  EXPECT_TRUE(bucket.tryTake());
}

TEST(TokenBucket, ReservationsQueueUpOneIntervalApart) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  TokenBucket bucket(/*qps=*/5, /*burst=*/1, clock);
  EXPECT_EQ(bucket.reserve(), milliseconds(0));
  EXPECT_EQ(std::chrono::round<milliseconds>(bucket.reserve()), milliseconds(200));
  EXPECT_EQ(std::chrono::round<milliseconds>(bucket.reserve()), milliseconds(400));
}

TEST(TokenBucket, NeverSavesMoreThanTheBurst) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  TokenBucket bucket(/*qps=*/100, /*burst=*/2, clock);
  clock->advance(std::chrono::hours(1));
  EXPECT_TRUE(bucket.tryTake());
  EXPECT_TRUE(bucket.tryTake());
  EXPECT_FALSE(bucket.tryTake());
}

TEST(TokenBucket, TakeSleepsOnTheClockUntilTheTokenIsEarned) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  TokenBucket bucket(/*qps=*/2, /*burst=*/1, clock);
  bucket.take();
  bucket.take();
  ASSERT_EQ(clock->sleeps().size(), 1U);
  EXPECT_EQ(std::chrono::round<milliseconds>(clock->sleeps()[0]), milliseconds(500));
}

TEST(TokenBucket, ZeroQpsIsUnlimited) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  TokenBucket bucket(/*qps=*/0, /*burst=*/1, clock);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(bucket.tryTake());
  }
}

}  // namespace
}  // namespace virtsnap::kube
