#include "controller/kube/work_queue.h"

#include "controller/kube/rate_limiters.h"

namespace virtsnap::kube {

WorkQueue::WorkQueue(ClockPtr clock, RateLimiterPtr rateLimiter, std::unique_ptr<WorkqueueMetrics> metrics)
    : clock_(std::move(clock)),
      rateLimiter_(rateLimiter ? std::move(rateLimiter) : defaultControllerRateLimiter(clock_)),
      metrics_(std::move(metrics)) {
  waitingThread_ = std::thread([this] { waitingLoop(); });
  if (metrics_) {
    tickerThread_ = std::thread([this] { unfinishedWorkLoop(); });
  }
}

WorkQueue::~WorkQueue() {
  shutDown();
  waitingThread_.join();
  if (tickerThread_.joinable()) {
    tickerThread_.join();
  }
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  addLocked(key);
}

void WorkQueue::addLocked(const std::string& key) {
  if (shuttingDown_) {
    return;
  }
  if (!dirty_.insert(key).second) {
    return;  // already pending, or already marked to run again after its current processing
  }
  if (metrics_) {
    metrics_->add(key);
  }
  if (processing_.contains(key)) {
    return;  // done() puts it back
  }
  queue_.push_back(key);
  keyPending_.notify_one();
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  keyPending_.wait(lock, [this] { return !queue_.empty() || shuttingDown_; });
  if (shuttingDown_) {
    return std::nullopt;
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  if (metrics_) {
    metrics_->get(key);
  }
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (processing_.erase(key) == 0) {
    return;  // not handed out: pushing it could put a pending key in queue_ twice
  }
  if (metrics_) {
    metrics_->done(key);
  }
  if (dirty_.contains(key) && !shuttingDown_) {
    queue_.push_back(key);
    keyPending_.notify_one();
  }
  if (processing_.empty()) {
    allDone_.notify_all();
  }
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkQueue::delayedLen() const {
  std::lock_guard lock(mutex_);
  return delayed_.size();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard lock(mutex_);
  if (shuttingDown_) {
    return;
  }
  if (metrics_) {
    metrics_->retry();
  }
  if (delay <= std::chrono::nanoseconds(0)) {
    addLocked(key);
    return;
  }
  const Clock::TimePoint readyAt = clock_->now() + delay;
  auto [known, inserted] = delayedReadyAt_.try_emplace(key, readyAt);
  if (!inserted) {
    if (known->second <= readyAt) {
      return;  // already waiting for an earlier (or the same) time
    }
    delayed_.erase({known->second, key});
    known->second = readyAt;
  }
  delayed_.emplace(readyAt, key);
  delayedAdded_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  addAfter(key, rateLimiter_->when(key));
}

void WorkQueue::forget(const std::string& key) {
  rateLimiter_->forget(key);
}

int WorkQueue::numRequeues(const std::string& key) {
  return rateLimiter_->numRequeues(key);
}

void WorkQueue::beginShutdownLocked(bool drain) {
  shuttingDown_ = true;
  draining_ = drain;
  keyPending_.notify_all();
  allDone_.notify_all();
  delayedAdded_.notify_all();
  tickerStop_.notify_all();
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mutex_);
  beginShutdownLocked(/*drain=*/false);
}

void WorkQueue::shutDownWithDrain() {
  std::unique_lock lock(mutex_);
  beginShutdownLocked(/*drain=*/true);
  allDone_.wait(lock, [this] { return processing_.empty() || !draining_; });
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mutex_);
  return shuttingDown_;
}

void WorkQueue::waitingLoop() {
  std::unique_lock lock(mutex_);
  while (!shuttingDown_) {
    // Everything due at one reading of the clock moves in one critical section.
    const Clock::TimePoint now = clock_->now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      auto node = delayed_.extract(delayed_.begin());
      delayedReadyAt_.erase(node.value().second);
      addLocked(node.value().second);
    }
    if (delayed_.empty()) {
      delayedAdded_.wait(lock);  // nothing to time: only addAfter or shutdown can give work
    } else {
      clock_->waitUntil(lock, delayedAdded_, delayed_.begin()->first);
    }
  }
}

void WorkQueue::unfinishedWorkLoop() {
  std::unique_lock lock(mutex_);
  Clock::TimePoint next = clock_->now() + kUnfinishedWorkUpdatePeriod;
  while (!shuttingDown_) {
    clock_->waitUntil(lock, tickerStop_, next);
    const Clock::TimePoint now = clock_->now();
    if (!shuttingDown_ && now >= next) {
      metrics_->updateUnfinishedWork();
      next = now + kUnfinishedWorkUpdatePeriod;
    }
  }
}

}  // namespace virtsnap::kube
