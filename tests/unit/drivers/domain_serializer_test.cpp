// Per-domain serialization of mutations and the spacing of reverts, on a fake clock.

#include "drivers/domain_serializer.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

TEST(DomainSerializer, MutationsOfOneDomainNeverOverlap) {
  DomainSerializer serializer(std::make_shared<testsupport::FakeClock>());
  std::atomic<int> inside{0};
  std::atomic<int> maxInside{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto turn = serializer.acquire("vm");
        const int now = ++inside;
        int seen = maxInside.load();
        while (now > seen && !maxInside.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(maxInside.load(), 1);
}

TEST(DomainSerializer, DifferentDomainsProceedInParallel) {
  auto serializer = std::make_shared<DomainSerializer>(std::make_shared<testsupport::FakeClock>());
  auto first = serializer->acquire("a");
  // Would never return if "a"'s turn blocked "b"; the bound turns that into a failure, not a hang.
  EXPECT_TRUE(testsupport::finishesWithin([serializer] { auto second = serializer->acquire("b"); }));
}

TEST(DomainSerializer, ATurnIsReleasedWhenItGoesOutOfScope) {
  auto serializer = std::make_shared<DomainSerializer>(std::make_shared<testsupport::FakeClock>());
  { auto turn = serializer->acquire("vm"); }
  EXPECT_TRUE(testsupport::finishesWithin([serializer] { auto again = serializer->acquire("vm"); }));
}

TEST(DomainSerializer, TwoRevertsOfOneDomainAreSpacedByTheInterval) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  DomainSerializer serializer(clock, 1000ms);
  {
    auto turn = serializer.acquire("vm");
    serializer.spaceRevert(turn);  // the first revert does not wait
  }
  clock->advance(300ms);
  {
    auto turn = serializer.acquire("vm");
    serializer.spaceRevert(turn);  // waits the remaining 700 ms
  }
  clock->advance(1500ms);
  {
    auto turn = serializer.acquire("vm");
    serializer.spaceRevert(turn);  // long enough ago: no wait
  }
  EXPECT_THAT(clock->sleeps(), ElementsAre(700ms));
}

TEST(DomainSerializer, RevertSpacingIsPerDomain) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  DomainSerializer serializer(clock, 1000ms);
  for (const char* domain : {"a", "b", "c"}) {
    auto turn = serializer.acquire(domain);
    serializer.spaceRevert(turn);
  }
  EXPECT_TRUE(clock->sleeps().empty());
}

}  // namespace
}  // namespace virtsnap::drivers
