#pragma once
// An informer handler that keeps its own map of the world (key -> resourceVersion) and counts every call
// that would mean the informer lost or duplicated something: an add for a key it already has, an update
// or delete for a key it lacks, an update whose old object is not the version it holds.

#include <map>
#include <mutex>
#include <string>

#include "controller/kube/informer.h"
#include "controller/kube/object_cache.h"

namespace virtsnap::testsupport {

class WorldMirror {
 public:
  kube::EventHandler handler() {
    return kube::EventHandler{
        [this](const kube::ObjectPtr& object) {
          std::lock_guard lock(mutex_);
          ++adds_;
          violations_ += versions_.count(kube::objectKey(*object)) > 0 ? 1 : 0;
          versions_[kube::objectKey(*object)] = version(*object);
        },
        [this](const kube::ObjectPtr& previous, const kube::ObjectPtr& current) {
          std::lock_guard lock(mutex_);
          ++updates_;
          auto known = versions_.find(kube::objectKey(*current));
          violations_ += known == versions_.end() || known->second != version(*previous) ? 1 : 0;
          violations_ += kube::objectKey(*previous) != kube::objectKey(*current) ? 1 : 0;
          versions_[kube::objectKey(*current)] = version(*current);
        },
        [this](const kube::ObjectPtr& last, bool finalStateUnknown) {
          std::lock_guard lock(mutex_);
          ++deletes_;
          unknownFinalStates_ += finalStateUnknown ? 1 : 0;
          violations_ += versions_.erase(kube::objectKey(*last)) == 1 ? 0 : 1;
        }};
  }
  std::map<std::string, std::string> versions() const {
    std::lock_guard lock(mutex_);
    return versions_;
  }
  int violations() const {
    std::lock_guard lock(mutex_);
    return violations_;
  }
  int adds() const {
    std::lock_guard lock(mutex_);
    return adds_;
  }
  int updates() const {
    std::lock_guard lock(mutex_);
    return updates_;
  }
  int deletes() const {
    std::lock_guard lock(mutex_);
    return deletes_;
  }
  long calls() const {
    std::lock_guard lock(mutex_);
    return static_cast<long>(adds_) + updates_ + deletes_;
  }
  int unknownFinalStates() const {
    std::lock_guard lock(mutex_);
    return unknownFinalStates_;
  }

 private:
  static std::string version(const nlohmann::json& object) {
    return object["metadata"]["resourceVersion"].get<std::string>();
  }

  mutable std::mutex mutex_;  // guards everything below
  std::map<std::string, std::string> versions_;
  int violations_ = 0;
  int adds_ = 0;
  int updates_ = 0;
  int deletes_ = 0;
  int unknownFinalStates_ = 0;
};

}  // namespace virtsnap::testsupport
