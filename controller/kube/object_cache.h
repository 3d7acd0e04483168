#pragma once
// The informer's store (client-go's thread-safe indexer, kube-rs's reflector Store): the objects of one
// resource keyed "namespace/name" (or "name" when cluster-scoped), with named secondary indexes.
//
// Guarantees:
// - One writer, many readers: readers take a shared lock and get std::shared_ptr<const json> snapshots
//   that never change under them; the writer replaces an entry with a new object, never edits one.
// - replace() swaps the whole content in one critical section: a reader sees the world before the
//   relist or after it, never half of each; it returns what changed, so the informer can tell its
//   handlers exactly which objects vanished.
// - Indexes always agree with the content: an index function maps an object to its index values
//   (e.g. "byDomain": a Snapshot's namespace/spec.domainName) and byIndex() answers from them. An
//   index may have an order (a string per object): its members under each value are kept sorted by
//   it, so firstByIndex() finds the first without reading (or, packed, decoding) the others. An index
//   may be counted: it keeps per value only how many objects have it (countByIndex), not which, for
//   readers that only count (metrics), with no memory per object.
// - Storage: CacheStorage::Objects keeps the json trees given (a reader gets the very pointer stored);
//   CacheStorage::Packed keeps each object as deflated MessagePack (object_packer.h: deflated against
//   a dictionary learned from the cache's objects) and decodes it on every read (a reader gets a fresh
//   tree, equal to the one stored): a fraction of a json tree's memory (see
//   bench/informer_bench.cpp) for some CPU on each read.
// Index functions are called under the writer's lock: they must be pure and fast, and must not touch
// the cache; one that throws (say, on a malformed object) indexes that object under no value.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;
using IndexFunction = std::function<std::vector<std::string>(const nlohmann::json&)>;
using Indexers = std::map<std::string, IndexFunction>;
// The order of an index's members under each value: by this string, then by key. An index without
// one is in key order.
using IndexOrder = std::function<std::string(const nlohmann::json&)>;
using IndexOrders = std::map<std::string, IndexOrder>;
// The indexes that keep counts only.
using CountedIndexes = std::set<std::string>;

// "namespace/name", or "name" for an object without a namespace; "" if it has no name.
std::string objectKey(const nlohmann::json& object);
std::string objectKey(const std::string& ns, const std::string& name);

// An index value of the form "<namespace>/<value>" (client-go's MetaNamespaceIndexFunc habit), for
// indexes on a field that names another object in the same namespace.
std::string namespacedIndexValue(const nlohmann::json& object, const std::string& value);

enum class CacheStorage { Objects, Packed };

class ObjectPacker;

// What a write did to one key: previous null for an addition, current null for a removal.
struct CacheChange {
  std::string key;
  ObjectPtr previous;
  ObjectPtr current;
};

class ObjectCache {
 public:
  // An order or a counted name `indexers` does not have is ignored, as is an order for a counted index.
  explicit ObjectCache(Indexers indexers = {}, CacheStorage storage = CacheStorage::Objects,
                       IndexOrders orders = {}, const CountedIndexes& counted = {});
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // Readers (any thread).
  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::vector<std::string> keys() const;
  std::size_t size() const;
  // The objects with `value` among their `indexName` values, in the index's order (key order for an
  // index without one); nothing for an unknown or counted index (nor from firstByIndex and keysByIndex).
  std::vector<ObjectPtr> byIndex(const std::string& indexName, const std::string& value) const;
  // The first of byIndex(indexName, value), reading only that one; null when there is none.
  ObjectPtr firstByIndex(const std::string& indexName, const std::string& value) const;
  // The keys of byIndex(indexName, value), in the same order, reading no object.
  std::vector<std::string> keysByIndex(const std::string& indexName, const std::string& value) const;
  // How many objects have `value` among their `indexName` values (any index; 0 for an unknown one).
  std::size_t countByIndex(const std::string& indexName, const std::string& value) const;
  // The values `indexName` currently holds, sorted.
  std::vector<std::string> indexValues(const std::string& indexName) const;

  // Writer (one thread at a time). Objects without a name are refused (the change has a "" key and
  // nothing is stored).
  // Inserts or replaces the object under its key; returns the previous one (null if none).
  ObjectPtr upsert(ObjectPtr object);
  // upsert() only when `accept` approves of what the key holds (null: nothing): the decision and the
  // write see the same previous object (writers take turns). The object is stored (and deflated, when
  // packed) only if accepted.
  struct ConditionalUpsert {
    ObjectPtr previous;
    bool stored = false;
  };
  ConditionalUpsert upsertIf(ObjectPtr object, const std::function<bool(const ObjectPtr& previous)>& accept);
  // Removes the key; returns what was there (null if nothing).
  ObjectPtr erase(const std::string& key);
  // Makes `objects` the whole content (a relist), atomically; of two objects with one key the later
  // wins. Returns the removals (keys that disappeared, current null) in key order, then every object of
  // the new content in key order with what was cached under its key before (null if nothing).
  // `keepCached(cached, listed)`, when given, keeps the cached object of a key instead of the listed one
  // when it says so (the cache holds a newer version than the list: informer.h's write-through); that
  // key's change then has the cached object as both previous and current.
  using KeepCached = std::function<bool(const nlohmann::json& cached, const nlohmann::json& listed)>;
  std::vector<CacheChange> replace(std::vector<ObjectPtr> objects, const KeepCached& keepCached = {});

 private:
  // One cached object: the tree (Objects), or its packed form (Packed).
  struct Slot {
    ObjectPtr object;
    std::vector<std::uint8_t> packed;  // ObjectPacker::pack's
  };

  // One member of an index value: (the index's order for the object, its key).
  using Member = std::pair<std::string, std::string>;
  struct Index {
    IndexFunction function;
    IndexOrder order;  // empty: key order
    bool counted = false;
    std::unordered_map<std::string, std::set<Member>> membersByValue;  // not counted
    std::unordered_map<std::string, std::size_t> countByValue;         // counted
  };

  Slot store(ObjectPtr object);
  ObjectPtr load(const Slot& slot) const;
  static std::vector<std::string> valuesOf(const Index& index, const nlohmann::json& object);
  static std::string orderOf(const Index& index, const nlohmann::json& object);
  // The members under `value` of the index named `indexName`; null when there are none. Needs a lock.
  const std::set<Member>* membersOf(const std::string& indexName, const std::string& value) const;
  void indexAdd(const std::string& key, const nlohmann::json& object);     // needs the unique lock
  void indexRemove(const std::string& key, const nlohmann::json& object);  // needs the unique lock

  const std::unique_ptr<ObjectPacker> packer_;  // null: Objects storage
  mutable std::shared_mutex mutex_;  // guards objects_ and indexes_ (the index functions are const)
  std::map<std::string, Slot> objects_;
  std::map<std::string, Index> indexes_;
};

}  // namespace virtsnap::kube
