#include "reconcilers/own_writes.h"

namespace virtsnap::reconcilers {

void OwnWrites::wrote(const std::string& key, const std::string& before, const std::string& after) {
  if (before.empty() || before == after) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = records_[key];
  record.replaced.insert(before);
  record.replaced.erase(after);
  record.latest = after;
}

bool OwnWrites::stale(const std::string& key, const std::string& cached) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = records_.find(key);
  if (it == records_.end()) {
    return false;
  }
  if (it->second.replaced.contains(cached)) {
    return true;
  }
  records_.erase(it);  // the cache has our last write, or a later version
  return false;
}

void OwnWrites::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.erase(key);
}

}  // namespace virtsnap::reconcilers
