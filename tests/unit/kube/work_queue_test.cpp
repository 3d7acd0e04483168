#include "controller/kube/work_queue.h"

#include <array>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/kube/rate_limiters.h"
#include "tests/support/eventually.h"
#include "tests/support/fake_clock.h"
#include "tests/support/workqueue_test_support.h"

namespace virtsnap::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::allSeen;
using testsupport::eventually;

class WorkQueueTest : public ::testing::Test {
 protected:
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::unique_ptr<WorkQueue> queue_ = std::make_unique<WorkQueue>(
      clock_, std::make_unique<ItemExponentialRateLimiter>(seconds(1), seconds(1000)), nullptr);
};

TEST_F(WorkQueueTest, AKeyIsPendingOnceHoweverOftenItIsAdded) {
  queue_->add("ns/a");
  queue_->add("ns/a");
  queue_->add("ns/b");
  queue_->add("ns/a");
  EXPECT_EQ(queue_->len(), 2U);
  EXPECT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(queue_->get(), "ns/b");
  EXPECT_EQ(queue_->len(), 0U);
}

TEST_F(WorkQueueTest, HandsKeysOutInTheOrderTheyWereAdded) {
  for (const char* key : {"ns/c", "ns/a", "ns/b"}) {
    queue_->add(key);
  }
  EXPECT_EQ(queue_->get(), "ns/c");
  EXPECT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(queue_->get(), "ns/b");
}

TEST_F(WorkQueueTest, AKeyAddedWhileProcessingComesBackOnceAfterDone) {
  queue_->add("ns/a");
  ASSERT_EQ(queue_->get(), "ns/a");
  queue_->add("ns/a");
  queue_->add("ns/a");
  EXPECT_EQ(queue_->len(), 0U);  // not pending while a worker has it
  queue_->done("ns/a");
  EXPECT_EQ(queue_->len(), 1U);  // back exactly once
  EXPECT_EQ(queue_->get(), "ns/a");
  queue_->done("ns/a");
  EXPECT_EQ(queue_->len(), 0U);  // and not again: the dirty mark was spent
}

TEST_F(WorkQueueTest, AKeyBeingProcessedIsNotHandedToASecondWorker) {
  queue_->add("ns/a");
  ASSERT_EQ(queue_->get(), "ns/a");
  std::optional<std::string> secondWorkerGot;
  std::thread secondWorker([&] { secondWorkerGot = queue_->get(); });
  queue_->add("ns/a");  // dirty: must wait for done()
  queue_->add("ns/b");
  secondWorker.join();
  EXPECT_EQ(secondWorkerGot, "ns/b");
  queue_->done("ns/a");
  EXPECT_EQ(queue_->get(), "ns/a");
}

TEST_F(WorkQueueTest, DoneForAKeyNotHandedOutChangesNothing) {
  queue_->add("ns/a");
  queue_->done("ns/a");  // a caller bug; must not put a pending key in the queue twice
  EXPECT_EQ(queue_->len(), 1U);
  ASSERT_EQ(queue_->get(), "ns/a");
  queue_->done("ns/a");
  EXPECT_EQ(queue_->len(), 0U);
}

// Several workers, thousands of adds from several producers: no key is ever processed by two workers at
// once, and every add is followed by a processing that sees it (nothing is lost).
TEST_F(WorkQueueTest, StressNoKeyIsEverProcessedTwiceAtOnceAndNoAddIsLost) {
  constexpr int kKeys = 16;
  constexpr int kWorkers = 4;
  constexpr int kProducers = 2;
  constexpr int kAddsPerProducer = 3000;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back("ns/key-" + std::to_string(i));
  }
  std::array<std::atomic<int>, kKeys> version{};  // bumped before each add
  std::array<std::atomic<int>, kKeys> seen{};     // the version a processing last saw
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue_->get()) {
        const int index = std::stoi(key->substr(key->find('-') + 1));
        if (inFlight[index].fetch_add(1) != 0) {
          ++overlaps;
        }
        seen[index] = version[index].load();
        std::this_thread::yield();  // widen the window in which a second worker could slip in
        inFlight[index].fetch_sub(1);
        ++processed;
        queue_->done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) {
        const int index = (i * 7 + p) % kKeys;
        ++version[index];
        queue_->add(keys[index]);
      }
    });
  }
  for (std::thread& producer : producers) {
    producer.join();
  }
  EXPECT_TRUE(eventually([&] { return allSeen(seen, version); }));
  queue_->shutDownWithDrain();
  for (std::thread& worker : workers) {
    worker.join();
  }
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LE(processed.load(), kProducers * kAddsPerProducer);  // dedup folded adds together
}

TEST_F(WorkQueueTest, ADelayedKeyArrivesOnlyWhenTheClockReachesIt) {
  queue_->addAfter("ns/late", milliseconds(10));
  queue_->addAfter("ns/early", milliseconds(5));
  EXPECT_EQ(queue_->len(), 0U);
  EXPECT_EQ(queue_->delayedLen(), 2U);
  clock_->advance(milliseconds(5));
  EXPECT_EQ(queue_->get(), "ns/early");
  // Everything due at that moment moved in together with ns/early; ns/late was not due.
  EXPECT_EQ(queue_->len(), 0U);
  EXPECT_EQ(queue_->delayedLen(), 1U);
  clock_->advance(milliseconds(5));
  EXPECT_EQ(queue_->get(), "ns/late");
  EXPECT_EQ(queue_->delayedLen(), 0U);
}

TEST_F(WorkQueueTest, ALaterAddAfterWithAnEarlierTimeWins) {
  queue_->addAfter("ns/a", seconds(10));
  queue_->addAfter("ns/a", seconds(1));
  queue_->addAfter("ns/marker", seconds(1));
  EXPECT_EQ(queue_->delayedLen(), 2U);  // ns/a waits once
  clock_->advance(seconds(1));
  ASSERT_TRUE(queue_->get().has_value());
  EXPECT_EQ(queue_->len(), 1U);         // both arrived at 1 s
  EXPECT_EQ(queue_->delayedLen(), 0U);  // and the 10 s wait of ns/a is gone
}

TEST_F(WorkQueueTest, ALaterAddAfterWithALaterTimeDoesNotPostpone) {
  queue_->addAfter("ns/a", seconds(1));
  queue_->addAfter("ns/a", seconds(10));
  queue_->addAfter("ns/marker", seconds(1));
  clock_->advance(seconds(1));
  ASSERT_TRUE(queue_->get().has_value());
  EXPECT_EQ(queue_->len(), 1U);
  EXPECT_EQ(queue_->delayedLen(), 0U);
}

TEST_F(WorkQueueTest, ADelayedKeyThatIsAlreadyPendingIsNotAddedTwice) {
  queue_->add("ns/a");
  queue_->addAfter("ns/a", seconds(1));
  queue_->addAfter("ns/marker", seconds(1));
  clock_->advance(seconds(1));
  EXPECT_EQ(queue_->get(), "ns/a");
  EXPECT_EQ(queue_->get(), "ns/marker");
  EXPECT_EQ(queue_->len(), 0U);
}

TEST_F(WorkQueueTest, AZeroOrNegativeDelayAddsAtOnce) {
  queue_->addAfter("ns/a", milliseconds(0));
  queue_->addAfter("ns/b", milliseconds(-5));
  EXPECT_EQ(queue_->len(), 2U);
  EXPECT_EQ(queue_->delayedLen(), 0U);
}

TEST_F(WorkQueueTest, AddRateLimitedBacksOffPerKeyAndForgetResets) {
  queue_->addRateLimited("ns/a");  // 1 s
  EXPECT_EQ(queue_->numRequeues("ns/a"), 1);
  clock_->advance(seconds(1));
  ASSERT_EQ(queue_->get(), "ns/a");
  queue_->done("ns/a");

  queue_->addRateLimited("ns/a");  // 2 s
  queue_->addAfter("ns/marker", seconds(1));
  EXPECT_EQ(queue_->numRequeues("ns/a"), 2);
  clock_->advance(seconds(1));
  ASSERT_EQ(queue_->get(), "ns/marker");
  EXPECT_EQ(queue_->delayedLen(), 1U);  // ns/a still waits
  clock_->advance(seconds(1));
  ASSERT_EQ(queue_->get(), "ns/a");
  queue_->done("ns/a");

  queue_->forget("ns/a");
  EXPECT_EQ(queue_->numRequeues("ns/a"), 0);
  queue_->addRateLimited("ns/a");  // 1 s again
  clock_->advance(seconds(1));
  EXPECT_EQ(queue_->get(), "ns/a");
}

TEST_F(WorkQueueTest, ShutDownWakesEveryBlockedGetter) {
  std::vector<std::thread> getters;
  std::atomic<int> gotNothing{0};
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      if (!queue_->get().has_value()) {
        ++gotNothing;
      }
    });
  }
  queue_->shutDown();
  for (std::thread& getter : getters) {
    getter.join();
  }
  EXPECT_EQ(gotNothing.load(), 3);
}

TEST_F(WorkQueueTest, AfterShutDownNothingIsAddedOrHandedOut) {
  queue_->add("ns/pending");
  queue_->shutDown();
  EXPECT_TRUE(queue_->shuttingDown());
  queue_->add("ns/a");
  queue_->addAfter("ns/b", seconds(1));
  queue_->addRateLimited("ns/c");
  EXPECT_EQ(queue_->delayedLen(), 0U);
  EXPECT_EQ(queue_->get(), std::nullopt);
}

TEST_F(WorkQueueTest, ShutDownWithDrainWaitsForKeysInFlight) {
  queue_->add("ns/a");
  ASSERT_EQ(queue_->get(), "ns/a");
  std::atomic<bool> doneCalled{false};
  std::atomic<bool> doneCalledWhenDrainReturned{false};
  std::thread stopper([&] {
    queue_->shutDownWithDrain();
    doneCalledWhenDrainReturned = doneCalled.load();
  });
  ASSERT_TRUE(eventually([&] { return queue_->shuttingDown(); }));
  doneCalled = true;
  queue_->done("ns/a");
  stopper.join();
  EXPECT_TRUE(doneCalledWhenDrainReturned.load());
}

TEST_F(WorkQueueTest, ShutDownEndsADrainEarly) {
  queue_->add("ns/a");
  ASSERT_EQ(queue_->get(), "ns/a");
  std::thread stopper([&] { queue_->shutDownWithDrain(); });
  ASSERT_TRUE(eventually([&] { return queue_->shuttingDown(); }));
  queue_->shutDown();
  stopper.join();  // returns although ns/a is still in flight
  queue_->done("ns/a");
}

TEST_F(WorkQueueTest, ADelayedWaitIsReleasedByShutdown) {
  queue_->addAfter("ns/a", seconds(100));
  ASSERT_TRUE(eventually([&] { return clock_->waiting() == 1; }));  // the waiting loop parks on the clock
  queue_.reset();  // shuts down and joins the loop without the clock moving
  EXPECT_EQ(clock_->waiting(), 0);
}

}  // namespace
}  // namespace virtsnap::kube
