#pragma once
// What a reconciler's own writes replaced, per object, so it never computes from a cache that has not
// yet seen them. A reconcile that reads an object the reconciler has just written (enqueued again by
// another object's change before the watch delivered the write) would compute from the old state and
// write with the old resourceVersion: a 409 Conflict, a retry, and a wasted write. Such a read is
// skipped instead: the watch event of the write enqueues the object again, and that reconcile sees it.
//
// resourceVersions are compared for equality only (they are opaque): a cached version is stale when it
// is one this reconciler's writes replaced; any other version (the write itself, or a later one by
// someone else) ends the record. Thread-safe: the reconciler's workers share one.

#include <map>
#include <mutex>
#include <set>
#include <string>

namespace virtsnap::reconcilers {

class OwnWrites {
 public:
  // A write to `key` replaced resourceVersion `before` with `after`.
  void wrote(const std::string& key, const std::string& before, const std::string& after);
  // Whether `cached`, the version the cache holds for `key`, is one of those writes replaced.
  bool stale(const std::string& key, const std::string& cached);
  // The object is gone from the cache: nothing to wait for.
  void forget(const std::string& key);

 private:
  struct Record {
    std::set<std::string> replaced;
    std::string latest;
  };
  std::mutex mutex_;  // guards records_
  std::map<std::string, Record> records_;
};

}  // namespace virtsnap::reconcilers
