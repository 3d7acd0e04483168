#pragma once
// Fan-out of the store's changes to its watches, and the bounded history they resume from.
//
// The store calls publish() while it holds its own mutex, so events enter in resourceVersion order;
// publish() only appends a shared pointer to each interested watch's own queue (no I/O, no
// filtering), so a slow watcher never blocks a writer. Selector filtering happens on the consumer's
// thread in Watch::next(), with kube's transitions: an object that starts matching arrives as ADDED,
// one that stops matching as DELETED (its previous content with the new resourceVersion).
// A consumer more than `maxQueue` events behind is ended (ended() turns true); it re-watches.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/storage/object_selector.h"
#include "controller/apiserver/storage/object_store.h"

namespace virtsnap::apiserver {

// One committed change.
struct StoreEvent {
  meta::WatchEventType type = meta::WatchEventType::Added;  // Added, Modified or Deleted
  std::uint64_t resourceVersion = 0;
  std::string resource;  // the store's key of the type: group/plural
  std::string ns;
  nlohmann::json object;    // DELETED: the last state, with the deletion's resourceVersion
  nlohmann::json previous;  // MODIFIED: the state before (null otherwise)
};
using StoreEventPtr = std::shared_ptr<const StoreEvent>;

struct WatchFilter {
  std::string resource;
  std::string ns;  // empty: every namespace
  ObjectSelector selector;
  bool bookmarks = false;
  std::string apiVersion;  // of bookmark objects
  std::string kind;
};

struct WatchHubOptions {
  std::size_t historySize = 1000;
  std::chrono::milliseconds bookmarkInterval{5000};
  std::size_t maxQueue = 100000;
};

class WatchHub {
 public:
  // `startResourceVersion`: the store's version when the history starts (empty).
  WatchHub(WatchHubOptions options, std::uint64_t startResourceVersion);
  ~WatchHub();  // ends every watch
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  void publish(StoreEventPtr event);

  // A new watch. `initial` (synthetic ADDED events) come first; with `resumeAfter`, every kept event
  // after it follows (410 Expired when the history no longer reaches back that far); then live events.
  // `current` is the store's resourceVersion now. The caller holds the store mutex (no gap, no overlap).
  ApiResult<std::shared_ptr<Watch>> subscribe(WatchFilter filter, std::vector<StoreEventPtr> initial,
                                              std::optional<std::uint64_t> resumeAfter,
                                              std::uint64_t current);

  std::size_t watchCount() const;
  // The oldest resourceVersion a watch can resume from.
  std::uint64_t historyStart() const;

  struct State;
  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace virtsnap::apiserver
