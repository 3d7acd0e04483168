#pragma once
// List-then-watch of one resource, as a stream of kube-rs style events (kube-runtime's watcher.rs; the
// loop of client-go's Reflector.ListAndWatch):
//
//   InitStarted, InitApply(obj)..., InitDone   a full (paged) list: the consumer's world is exactly
//                                              these objects once InitDone arrives
//   Apply(obj), Delete(obj)                    changes seen by the watch that follows
//
// Guarantees:
// - The watch starts from the list's resourceVersion (allowWatchBookmarks on); every event and bookmark
//   moves the resourceVersion on, and a watch that ends or breaks is resumed from it, so no change is
//   missed and none is repeated across a resume.
// - 410 Gone (the watch's answer or an ERROR event in the stream) means the history is lost: the watcher
//   lists again and emits a new InitStarted..InitDone.
// - Every failure (list, watch start, broken stream) and every stream end waits a WatchBackoff delay
//   (800 ms doubling to 30 s, jittered, reset after 120 s of quiet or by an event a watch delivered)
//   before the next request, so a failing server sees a slowing trickle of requests, never a hot loop.
// - An InitStarted not followed by InitDone (the list failed half way) is abandoned: the next
//   InitStarted starts over.
// - requestRelist() from any thread makes the watcher list again (InitStarted..InitDone) as soon as it
//   can: the open watch stream is cancelled (no backoff for that), and a list already under way is
//   followed by another. Requests that come before one list starts share it.
// - stop() from any thread cancels the open watch stream and wakes a backoff wait; run() then returns.
//   A list call in flight is not interrupted, but ends within the client's timeout.
// Events are given to one consumer, on the thread that called run(), in order.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/random_source.h"
#include "controller/kube/api_client.h"
#include "controller/kube/watch_backoff.h"

namespace virtsnap::kube {

enum class WatcherEventType { InitStarted, InitApply, InitDone, Apply, Delete };

const char* watcherEventTypeName(WatcherEventType type);

struct WatcherEvent {
  WatcherEventType type = WatcherEventType::Apply;
  nlohmann::json object;  // null for InitStarted and InitDone
};

struct WatcherConfig {
  meta::ResourceType type;
  std::string ns;  // "" for all namespaces (or a cluster-scoped kind)
  std::string labelSelector;
  std::string fieldSelector;    // e.g. spec.nodeName=<node> for the agent's Domains
  std::int64_t pageSize = 500;  // list limit; 0 lists in one answer
  // Asked of the server for each watch, so a silently dead connection is replaced in bounded time.
  std::optional<int> watchTimeoutSeconds = 290;
  bool bookmarks = true;
  BackoffPolicy backoff;
};

// Where a failure happened; reported to an optional observer (logs, metrics, tests).
enum class WatcherStage { List, WatchStart, WatchStream };

struct WatcherFailure {
  WatcherStage stage = WatcherStage::List;
  KubeError error;
  bool relist = false;  // the next attempt lists again (410 Gone, or the list itself failed)
  std::chrono::nanoseconds retryIn{0};
};

class Watcher {
 public:
  using Consumer = std::function<void(WatcherEvent&&)>;
  using FailureObserver = std::function<void(const WatcherFailure&)>;

  Watcher(ApiClientPtr client, WatcherConfig config, ClockPtr clock, RandomSourcePtr random);
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Lists and watches until stop(), giving every event to `consumer` on this thread. Call once.
  void run(const Consumer& consumer, const FailureObserver& onFailure = {});
  // Lists again soon, as after a 410 (see the guarantees); any thread.
  void requestRelist();
  // Ends run() promptly; any thread, any number of times (also before run(): run() then returns at once).
  void stop();

  // The resourceVersion the next watch would resume from ("" before the first list).
  std::string resourceVersion() const;

 private:
  enum class Next { Watch, Relist, Stop };

  // One full list; on success the resourceVersion to watch from.
  std::optional<std::string> listAll(const Consumer& consumer, const FailureObserver& onFailure);
  // One watch request and its stream, until it ends, breaks or is stopped.
  Next watchOnce(const std::string& fromVersion, const Consumer& consumer, const FailureObserver& onFailure);
  // Reports the failure and waits its backoff; false if stopped meanwhile.
  bool backOff(WatcherStage stage, const KubeError& error, bool relist, const FailureObserver& onFailure);
  // Waits on the clock until `delay` passed or stop(); false if stopped.
  bool waitFor(std::chrono::nanoseconds delay);
  bool stopping() const;
  // Whether a relist was asked for since the last list started; clears the request when `take`.
  bool relistRequested(bool take);
  void setResourceVersion(const std::string& version);
  // Gives list items the apiVersion and kind a list leaves out, so they look like watched objects.
  void fillTypeMeta(nlohmann::json& object) const;

  const ApiClientPtr client_;
  const WatcherConfig config_;
  const ClockPtr clock_;
  WatchBackoff backoff_;  // used by the run() thread only

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool relistRequested_ = false;
  WatchStream* activeStream_ = nullptr;  // the open stream, cancelled by stop(); owned by run()
  std::string resourceVersion_;
};

}  // namespace virtsnap::kube
