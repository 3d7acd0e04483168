#pragma once
// A shared informer (client-go's SharedIndexInformer; kube-rs's reflector + watcher): a Watcher feeds an
// ObjectCache, and handlers hear about every change, typically to enqueue the object's key.
//
//   Watcher -> transform/filter hook -> ObjectCache (indexed, read by anyone) -> handlers
//
// Guarantees:
// - Handlers are called one at a time, in the order the changes happened, on the informer's threads
//   (the watch thread, the resync thread when a period is set, and writeThrough()'s callers), never
//   concurrently.
// - When a handler is called, the cache already holds the change it is told about.
// - A handler's view never loses or duplicates an object: after a relist (410, or the first list),
//   objects that vanished get onDelete (with finalStateUnknown, as client-go's
//   DeletedFinalStateUnknown: the deletion itself was not seen), and every listed object gets onAdd
//   (new) or onUpdate(old, new) (already known). A Delete for an object the handlers never heard of
//   is not passed on.
// - The transform hook sees every object before the cache does (from the list and the watch); it may
//   slim it or drop it (nullopt). A dropped object is not cached and no handler hears of it; a later
//   event for it that passes is an onAdd; a cached object that no longer passes is removed with
//   onDelete (the agent's Domain moved to another node). When what the transform decides on changes
//   outside the object (the agent's set of Domains), relist() brings in what it now admits, and
//   refilter() removes (onDelete) what it now drops.
// - hasSynced() turns true once the first full list is in the cache and its handler calls returned
//   (client-go's HasSynced), and stays true.
// - With a resync period, every cached object is re-delivered as onUpdate(obj, obj) each period.
// - stop() (or the destructor) stops the watcher and joins the threads; no handler runs after it.
// - Write-through (client-go's MutationCache, for the agent's own writes): writeThrough(object) puts an
//   object the server has just answered a write with into the cache when it is newer than the cached
//   one, and tells the handlers (onUpdate), on the writer's thread, so a reconcile that depends on that
//   write need not wait for its watch event. "Newer" compares resourceVersions as integers (what every
//   Kubernetes server and this project's API server issue; compareResourceVersions); objects whose
//   versions are not integers are not written through. An object the cache does not hold is never
//   added that way (it may be gone already: the watch adds, and deletes).
// - No change goes back in time: a watch event whose resourceVersion is not newer than the cached
//   object's (the echo of a write-through, or a change it already overtook) changes nothing and reaches
//   no handler; a relist keeps a cached object newer than the listed one (a write-through during the
//   list). Deletions always apply. Without write-through neither happens (the watch is in order).
// Handlers must not call addHandler() or stop() (they run under the dispatch lock); exceptions they
// throw are caught and counted (handlerExceptions()), so one bad handler cannot kill the informer.

#include <atomic>
#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/random_source.h"
#include "controller/kube/api_client.h"
#include "controller/kube/object_cache.h"
#include "controller/kube/watcher.h"

namespace virtsnap::kube {

// The order of two resourceVersions when both are decimal integers (as etcd's revisions, and this
// project's API server's, are); nullopt when either is not, and they cannot be compared.
std::optional<std::strong_ordering> compareResourceVersions(std::string_view a, std::string_view b);

// Slims an object for the cache, or drops it (nullopt): it is not this agent's. It must keep
// metadata.namespace and metadata.name (the cache key) as they are, and be idempotent: refilter()
// gives it objects it already slimmed. It runs on the informer's threads, under its dispatch lock.
using ObjectTransform = std::function<std::optional<nlohmann::json>(nlohmann::json&&)>;

struct EventHandler {
  std::function<void(const ObjectPtr& object)> onAdd;
  std::function<void(const ObjectPtr& previous, const ObjectPtr& current)> onUpdate;
  // `finalStateUnknown`: the object vanished across a relist; `last` is the state last cached.
  std::function<void(const ObjectPtr& last, bool finalStateUnknown)> onDelete;
};

struct InformerOptions {
  WatcherConfig watcher;
  ObjectTransform transform;  // none: keep every object whole
  Indexers indexers;
  IndexOrders indexOrders;                       // the order of some of those indexes (object_cache.h)
  CountedIndexes countedIndexes;                 // those of them that keep counts only (object_cache.h)
  CacheStorage storage = CacheStorage::Objects;  // Packed: a fraction of the memory (object_cache.h)
  std::optional<std::chrono::nanoseconds> resyncPeriod;  // none: no resync
  Watcher::FailureObserver onFailure;                    // called on the watch thread
};

class Informer {
 public:
  Informer(ApiClientPtr client, InformerOptions options, ClockPtr clock, RandomSourcePtr random);
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Adds a handler; a handler added while objects are cached first gets onAdd for each of them.
  void addHandler(EventHandler handler);
  // Starts the watch thread (and the resync thread). Once.
  void start();
  // Stops and joins; idempotent.
  void stop();

  // Lists again (as after a 410), so objects the transform dropped are offered to it again; the
  // relist ends in the usual handler calls. Any thread, handlers included; requests coalesce.
  void relist();
  // Offers every cached object to the transform again and removes (onDelete, not finalStateUnknown)
  // those it drops now. Any thread but this informer's own handlers.
  void refilter();

  // Puts `object`, as the server answered a write of it, into the cache if the cache holds an older
  // version of it (see the guarantees), and calls the handlers' onUpdate. Any thread but this
  // informer's own handlers. Returns whether it was applied.
  bool writeThrough(nlohmann::json object);

  bool hasSynced() const;
  // Waits on the clock until synced; false if the deadline passed or the informer stopped first.
  bool waitForSync(Clock::TimePoint deadline);

  // The cache, for readers on any thread; lives as long as the informer.
  const ObjectCache& cache() const { return cache_; }
  // The resourceVersion the watch is at.
  std::string resourceVersion() const { return watcher_.resourceVersion(); }
  // How many exceptions handlers threw (and the informer swallowed).
  std::uint64_t handlerExceptions() const { return handlerExceptions_.load(); }
  // How many writeThrough() calls were applied, and how many watch events changed nothing because the
  // cache already held that version or a newer one.
  std::uint64_t writesThrough() const { return writesThrough_.load(); }
  std::uint64_t eventsBehindCache() const { return eventsBehindCache_.load(); }

 private:
  void consume(WatcherEvent&& event);  // the watch thread
  void finishRelist();                 // needs dispatchMutex_
  void applyChange(nlohmann::json&& object);
  void deleteObject(nlohmann::json&& object);
  // The object as the cache keeps it (the transform applied), or nothing when it is not admitted.
  std::optional<nlohmann::json> admitted(nlohmann::json&& object) const;
  // Drops `key` from the cache, telling the handlers when it was there.
  void forget(const std::string& key);
  void resyncLoop();
  // Calls `call` on each handler, counting exceptions. Needs dispatchMutex_.
  void notify(const std::function<void(const EventHandler&)>& call);

  const InformerOptions options_;
  const ClockPtr clock_;
  ObjectCache cache_;
  Watcher watcher_;

  std::mutex dispatchMutex_;  // serializes cache writes and handler calls; guards handlers_, pending_
  std::vector<EventHandler> handlers_;
  std::vector<ObjectPtr> pending_;  // a relist being collected (InitStarted..InitDone)

  mutable std::mutex mutex_;  // guards synced_, started_, stopping_ (and the waits on changed_)
  std::condition_variable changed_;
  bool synced_ = false;
  bool started_ = false;
  bool stopping_ = false;
  std::mutex joinMutex_;  // held by stop() while it joins the threads below
  std::thread watchThread_;
  std::thread resyncThread_;

  std::atomic<std::uint64_t> handlerExceptions_{0};
  std::atomic<std::uint64_t> writesThrough_{0};
  std::atomic<std::uint64_t> eventsBehindCache_{0};
};

}  // namespace virtsnap::kube
