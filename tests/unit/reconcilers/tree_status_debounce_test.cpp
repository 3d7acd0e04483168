// TreeStatusDebounce on a fake clock: a burst spread over time is written once, after it settles; a
// tree that keeps changing is still written within the lag bound; a domain with operations waiting is
// written only at the bound; each domain has its own timing.

#include "reconcilers/tree_status_debounce.h"

#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/test_seed.h"

namespace virtsnap::reconcilers {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeClock;

constexpr TreeStatusTiming kTiming{1s, 10s};

// The Domain reconciler's use of the debounce, one domain, on the fake clock: each tree change
// reconciles the domain (the event), each deferral requeues it for when the write is due (the work
// queue keeps the earliest requeue), a write ends the deferral. Records when the status was written.
class OneDomain {
 public:
  OneDomain(std::shared_ptr<FakeClock> clock, TreeStatusTiming timing)
      : clock_(clock), debounce_(clock, timing), start_(clock->now()) {}

  // The tree changed at `at`: an operation finished and none waits (the domain drained).
  void treeChangedAt(std::chrono::nanoseconds at) {
    runRequeuesUntil(at);
    ++tree_;
    waiting_ = false;
    reconcile();
  }
  // An operation of the domain waits from `at` on (its Snapshot was just created).
  void operationWaitingAt(std::chrono::nanoseconds at) {
    runRequeuesUntil(at);
    waiting_ = true;
    reconcile();
  }
  void runRequeuesUntil(std::chrono::nanoseconds at) {
    while (requeue_ && *requeue_ <= at) {
      clock_->advance(*requeue_ - elapsed());
      requeue_.reset();
      reconcile();
    }
    clock_->advance(at - elapsed());
  }

  const std::vector<std::chrono::nanoseconds>& writes() const { return writes_; }
  int statusTree() const { return written_; }
  int tree() const { return tree_; }
  // The longest time the status was behind the tree.
  std::chrono::nanoseconds longestLag() const { return longestLag_; }
  TreeStatusDebounce& debounce() { return debounce_; }

 private:
  std::chrono::nanoseconds elapsed() const { return clock_->now() - start_; }

  void reconcile() {
    if (written_ != tree_ && !behindSince_) {
      behindSince_ = elapsed();
    }
    TreeStatusDebounce::Decision decision;
    if (waiting_) {
      decision = debounce_.changing("vms/a");
    }
    if (!waiting_ || decision.writeNow) {
      if (written_ == tree_) {
        debounce_.written("vms/a");
        return;
      }
      decision = waiting_ ? decision : debounce_.settled("vms/a", static_cast<std::size_t>(tree_));
    }
    if (decision.writeNow) {
      written_ = tree_;
      writes_.push_back(elapsed());
      longestLag_ = std::max(longestLag_, elapsed() - *behindSince_);
      behindSince_.reset();
      debounce_.written("vms/a");
      return;
    }
    EXPECT_GT(decision.dueIn, 0ns);
    const auto due = elapsed() + decision.dueIn;
    requeue_ = requeue_ ? std::min(*requeue_, due) : due;
  }

  std::shared_ptr<FakeClock> clock_;
  TreeStatusDebounce debounce_;
  const virtsnap::Clock::TimePoint start_;
  std::optional<std::chrono::nanoseconds> requeue_;
  bool waiting_ = false;
  int tree_ = 0;     // the tree's version in libvirt
  int written_ = 0;  // the version the status holds
  std::optional<std::chrono::nanoseconds> behindSince_;
  std::chrono::nanoseconds longestLag_{0};
  std::vector<std::chrono::nanoseconds> writes_;
};

TEST(TreeStatusDebounce, ABurstSpreadOverTimeIsWrittenOnceAfterItSettles) {
  OneDomain domain(std::make_shared<FakeClock>(), kTiming);
  // Twenty snapshots 400 ms apart (7.6 s, under the 10 s bound), each one a drain of the domain.
  for (int i = 0; i < 20; ++i) {
    domain.operationWaitingAt(i * 400ms);
    domain.treeChangedAt(i * 400ms + 50ms);
  }
  domain.runRequeuesUntil(30s);
  ASSERT_EQ(domain.writes().size(), 1U);
  EXPECT_EQ(domain.writes()[0], 19 * 400ms + 50ms + 1s);  // one quiet second after the last change
  EXPECT_EQ(domain.statusTree(), domain.tree());
  EXPECT_EQ(domain.debounce().deferred(), 0U);
}

TEST(TreeStatusDebounce, ASingleChangeIsWrittenAfterTheDelayAndZeroDelayWritesAtOnce) {
  OneDomain domain(std::make_shared<FakeClock>(), kTiming);
  domain.treeChangedAt(2s);
  domain.runRequeuesUntil(10s);
  EXPECT_EQ(domain.writes(), std::vector<std::chrono::nanoseconds>{3s});

  OneDomain immediate(std::make_shared<FakeClock>(), TreeStatusTiming{0s, 10s});
  immediate.treeChangedAt(2s);
  immediate.treeChangedAt(2s + 10ms);
  EXPECT_EQ(immediate.writes(), (std::vector<std::chrono::nanoseconds>{2s, 2s + 10ms}));
}

TEST(TreeStatusDebounce, ATreeThatKeepsChangingIsStillWrittenWithinTheBound) {
  const std::uint64_t seed = testsupport::seedFromEnvironment();
  SCOPED_TRACE("VIRTSNAP_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> gapMs(50, 900);  // always under the 1 s delay: never quiet
  OneDomain domain(std::make_shared<FakeClock>(), kTiming);
  std::chrono::nanoseconds at{0};
  while (at < 60s) {
    domain.treeChangedAt(at);
    at += std::chrono::milliseconds(gapMs(random));
  }
  domain.runRequeuesUntil(at + 20s);
  // Written at least every 10 s while it kept changing, then once more when it settled.
  EXPECT_LE(domain.longestLag(), kTiming.maxDelay);
  EXPECT_GE(domain.writes().size(), 6U);
  EXPECT_LE(domain.writes().size(), 8U);
  EXPECT_EQ(domain.statusTree(), domain.tree());
}

TEST(TreeStatusDebounce, OperationsWaitingDeferTheWriteUntilTheBoundOnly) {
  OneDomain domain(std::make_shared<FakeClock>(), kTiming);
  // A steady stream: the domain's next Snapshot arrives 50 ms after each drain, well within the quiet
  // time, and mostly an operation waits; without the bound the tree status would wait for the end.
  for (int i = 0; i < 100; ++i) {
    domain.operationWaitingAt(i * 300ms);
    domain.treeChangedAt(i * 300ms + 100ms);
    if (i + 1 < 100) {
      domain.operationWaitingAt(i * 300ms + 150ms);
    }
  }
  domain.runRequeuesUntil(60s);
  EXPECT_LE(domain.longestLag(), kTiming.maxDelay);
  EXPECT_GE(domain.writes().size(), 3U);  // 30 s of changes, a write at least every 10 s
  EXPECT_LE(domain.writes().size(), 5U);
  EXPECT_EQ(domain.statusTree(), domain.tree());
}

TEST(TreeStatusDebounce, TheSameTreeSeenAgainDoesNotRestartTheQuietTime) {
  auto clock = std::make_shared<FakeClock>();
  TreeStatusDebounce debounce(clock, kTiming);
  EXPECT_FALSE(debounce.settled("vms/a", 7).writeNow);
  clock->advance(600ms);
  const auto again = debounce.settled("vms/a", 7);  // a poll, or another event: the same tree
  EXPECT_FALSE(again.writeNow);
  EXPECT_EQ(again.dueIn, 400ms);
  clock->advance(400ms);
  EXPECT_TRUE(debounce.settled("vms/a", 7).writeNow);
}

TEST(TreeStatusDebounce, DomainsAreTimedApartAndAWriteStartsAfresh) {
  auto clock = std::make_shared<FakeClock>();
  TreeStatusDebounce debounce(clock, kTiming);
  EXPECT_FALSE(debounce.settled("vms/a", 1).writeNow);
  clock->advance(900ms);
  EXPECT_FALSE(debounce.settled("vms/b", 1).writeNow);
  EXPECT_EQ(debounce.deferred(), 2U);
  clock->advance(100ms);
  EXPECT_TRUE(debounce.settled("vms/a", 1).writeNow);
  EXPECT_EQ(debounce.settled("vms/b", 1).dueIn, 900ms);
  debounce.written("vms/a");
  EXPECT_EQ(debounce.deferred(), 1U);
  // After the write, a new change waits its own delay (the old "behind since" is gone).
  clock->advance(20s);
  EXPECT_TRUE(debounce.settled("vms/b", 1).writeNow);  // due long ago: written at its next look
  EXPECT_FALSE(debounce.settled("vms/a", 2).writeNow);
  debounce.forget("vms/b");
  EXPECT_EQ(debounce.deferred(), 1U);
}

// The agent looks at a Domain a delay after its last operation ends (not at once, when the user's
// next operation is coming): the view dates the change, so the write is due from the change.
TEST(TreeStatusDebounce, AChangeTheViewDatesIsQuietSinceTheViewsChangeNotSinceItIsSeen) {
  auto clock = std::make_shared<FakeClock>();
  TreeStatusDebounce debounce(clock, kTiming);
  const auto start = clock->now();
  debounce.written("vms/a");  // the status held the tree at 0 s
  clock->advance(2s);
  const auto changed = clock->now();  // an operation moved the tree at 2 s
  clock->advance(1s);                 // looked at after the delay
  EXPECT_TRUE(debounce.settled("vms/a", 1, changed).writeNow);
  debounce.written("vms/a");

  // Seen within the delay: due the delay after the change.
  clock->advance(5s);
  const auto second = clock->now();
  clock->advance(300ms);
  const auto early = debounce.settled("vms/a", 2, second);
  EXPECT_FALSE(early.writeNow);
  EXPECT_EQ(early.dueIn, 700ms);

  // A domain never looked at before (the agent started): the view's first listing dates it too.
  EXPECT_TRUE(debounce.settled("vms/b", 1, start).writeNow);
}

TEST(TreeStatusDebounce, AnOperationFoundWaitingThenTheViewsChangeIsQuietSinceTheChange) {
  auto clock = std::make_shared<FakeClock>();
  TreeStatusDebounce debounce(clock, kTiming);
  EXPECT_FALSE(debounce.changing("vms/a").writeNow);  // 0 s: a create waits
  clock->advance(200ms);
  const auto created = clock->now();  // 0.2 s: it is done, the last one
  clock->advance(1s);
  EXPECT_TRUE(debounce.settled("vms/a", 1, created).writeNow);
}

// What the view did not see change (a Snapshot object added for an existing snapshot, so the list of
// unmanaged ones shrinks) waits the whole delay from when it is seen, and a burst of them keeps
// restarting it, whatever the view's date says.
TEST(TreeStatusDebounce, AChangeTheViewDidNotDateIsQuietSinceItIsSeen) {
  auto clock = std::make_shared<FakeClock>();
  TreeStatusDebounce debounce(clock, kTiming);
  const auto viewChanged = clock->now();
  clock->advance(5s);
  debounce.written("vms/a");  // the status held the tree after the view's last change
  clock->advance(5s);
  const auto first = debounce.settled("vms/a", 1, viewChanged);
  EXPECT_FALSE(first.writeNow);
  EXPECT_EQ(first.dueIn, 1s);
  clock->advance(600ms);
  const auto second = debounce.settled("vms/a", 2, viewChanged);
  EXPECT_EQ(second.dueIn, 1s);
  // The view changing meanwhile dates the next fingerprint from its change.
  clock->advance(100ms);
  const auto moved = clock->now();
  clock->advance(500ms);
  const auto third = debounce.settled("vms/a", 3, moved);
  EXPECT_EQ(third.dueIn, 500ms);
  // The lag bound counts from the view's change too: behind since then, not since first seen.
  debounce.written("vms/a");
  clock->advance(1s);
  const auto behindSince = clock->now();
  clock->advance(500ms);
  EXPECT_EQ(debounce.settled("vms/a", 10, behindSince).dueIn, 500ms);
  for (int i = 0; i < 18; ++i) {  // a change every 500 ms, undated: the quiet time never comes
    clock->advance(500ms);
    EXPECT_FALSE(debounce.settled("vms/a", 11 + i).writeNow);
  }
  EXPECT_EQ(debounce.settled("vms/a", 99).dueIn, 500ms);  // 10 s after the view's change
  // forget() drops what the status held: a domain of the same key starts without a past.
  debounce.forget("vms/a");
  EXPECT_TRUE(debounce.settled("vms/a", 4, viewChanged).writeNow);
}

}  // namespace
}  // namespace virtsnap::reconcilers
