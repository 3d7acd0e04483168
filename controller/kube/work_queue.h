#pragma once
// The controller work queue: client-go's workqueue (queue.go, delaying_queue.go, rate_limiting_queue.go)
// in one class. Keys are "namespace/name" strings.
//
// Guarantees:
// - Dedup: a key is pending at most once; adding a pending key again does nothing.
// - One worker per key: a key handed out by get() is not handed out again until done(key). Adding it
//   meanwhile marks it dirty, and done() puts it back exactly once, so changes made during processing
//   are never lost and a key is never processed by two workers at once.
// - Delayed adds run on the injected clock: addAfter(key, d) adds the key once the clock reaches now + d
//   (a fake clock's advance() releases it). A key waiting already keeps the earlier of its two times.
// - addRateLimited() delays by the rate limiter's answer; forget() resets the key's backoff.
// - After shutDown() nothing is added and get() returns nullopt at once, even with keys still pending
//   (unlike client-go, which hands out the rest first: a level-based controller resyncs them anyway,
//   and a stop should not wait for a backlog). Keys being processed still finish with done().
//   shutDownWithDrain() also waits until every key handed out has been marked done.
// - The destructor shuts down and joins the queue's threads; workers calling get() must be gone.
//
// Two threads of its own: the waiting loop that moves delayed keys in when their time comes, and, with
// metrics, the ticker that publishes unfinished work every 500 ms of clock time.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/clock.h"
#include "controller/kube/rate_limiter.h"
#include "controller/kube/workqueue_metrics.h"

namespace virtsnap::kube {

class WorkQueue {
 public:
  // How often (in clock time) unfinished work is published, as in client-go.
  static constexpr std::chrono::milliseconds kUnfinishedWorkUpdatePeriod{500};

  // `rateLimiter` may be null: defaultControllerRateLimiter(clock). `metrics` may be null: no metrics and
  // no ticker thread.
  WorkQueue(ClockPtr clock, RateLimiterPtr rateLimiter, std::unique_ptr<WorkqueueMetrics> metrics);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Marks `key` as needing processing (see the class comment for dedup and dirty keys).
  void add(const std::string& key);
  // Blocks until a key is pending and returns it, now being processed; nullopt once shut down.
  std::optional<std::string> get();
  // Ends the processing of a key get() returned; puts it back if it was added meanwhile.
  void done(const std::string& key);
  // Keys pending now (neither processing nor still delayed).
  std::size_t len() const;
  // Keys waiting for their addAfter time.
  std::size_t delayedLen() const;

  // Adds `key` once the clock reaches now + delay (at once if delay <= 0).
  void addAfter(const std::string& key, std::chrono::nanoseconds delay);
  // addAfter with the rate limiter's delay for `key` (which records one more failure).
  void addRateLimited(const std::string& key);
  // The key succeeded or was given up: its backoff starts over.
  void forget(const std::string& key);
  int numRequeues(const std::string& key);

  // Stops taking keys and wakes every blocked get(). Idempotent.
  void shutDown();
  // shutDown(), then waits until every key handed out is done(). A shutDown() from another thread ends
  // the wait early.
  void shutDownWithDrain();
  bool shuttingDown() const;

 private:
  void addLocked(const std::string& key);  // needs mutex_
  void beginShutdownLocked(bool drain);    // needs mutex_
  void waitingLoop();                      // the thread moving delayed keys in
  void unfinishedWorkLoop();               // the metrics ticker thread

  const ClockPtr clock_;
  const RateLimiterPtr rateLimiter_;                 // thread-safe on its own
  const std::unique_ptr<WorkqueueMetrics> metrics_;  // thread-safe; called under mutex_ so depth and
                                                     // durations follow the queue's own order

  mutable std::mutex mutex_;  // guards every member below up to the threads
  // Pending keys in order. Invariant: a key is in queue_ exactly when it is in dirty_ and not in
  // processing_, so it is there at most once.
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;  // keys that need processing (pending or added while processing)
  std::unordered_set<std::string> processing_;  // keys handed out by get() and not yet done()
  // Delayed keys, each once, ordered by the time they become pending, and that time by key.
  std::set<std::pair<Clock::TimePoint, std::string>> delayed_;
  std::unordered_map<std::string, Clock::TimePoint> delayedReadyAt_;
  bool shuttingDown_ = false;
  bool draining_ = false;  // a shutDownWithDrain() is waiting

  std::condition_variable keyPending_;    // get() waits: queue_ non-empty or shutting down
  std::condition_variable allDone_;       // shutDownWithDrain() waits: processing_ empty or not draining
  std::condition_variable delayedAdded_;  // the waiting loop waits: an earlier delayed key or shutting down
  std::condition_variable tickerStop_;    // the ticker waits on the clock; notified at shutdown

  // Started last in the constructor (everything above exists by then), joined in the destructor.
  std::thread waitingThread_;
  std::thread tickerThread_;
};

}  // namespace virtsnap::kube
