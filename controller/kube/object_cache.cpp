#include "controller/kube/object_cache.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <utility>

namespace virtsnap::kube {

namespace {

std::string metadataString(const nlohmann::json& object, const char* field) {
  if (!object.is_object()) {
    return {};
  }
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return {};
  }
  auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : std::string();
}

}  // namespace

std::string objectKey(const std::string& ns, const std::string& name) {
  if (name.empty()) {
    return {};
  }
  return ns.empty() ? name : ns + "/" + name;
}

std::string objectKey(const nlohmann::json& object) {
  return objectKey(metadataString(object, "namespace"), metadataString(object, "name"));
}

std::string namespacedIndexValue(const nlohmann::json& object, const std::string& value) {
  return metadataString(object, "namespace") + "/" + value;
}

ObjectCache::ObjectCache(Indexers indexers) {
  for (auto& [name, function] : indexers) {
    indexes_[name].function = std::move(function);
  }
}

ObjectPtr ObjectCache::get(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto found = objects_.find(key);
  return found == objects_.end() ? nullptr : found->second;
}

std::vector<ObjectPtr> ObjectCache::list() const {
  std::shared_lock lock(mutex_);
  std::vector<ObjectPtr> objects;
  objects.reserve(objects_.size());
  for (const auto& [key, object] : objects_) {
    objects.push_back(object);
  }
  return objects;
}

std::vector<std::string> ObjectCache::keys() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> keys;
  keys.reserve(objects_.size());
  for (const auto& [key, object] : objects_) {
    keys.push_back(key);
  }
  return keys;
}

std::size_t ObjectCache::size() const {
  std::shared_lock lock(mutex_);
  return objects_.size();
}

std::vector<ObjectPtr> ObjectCache::byIndex(const std::string& indexName, const std::string& value) const {
  std::shared_lock lock(mutex_);
  auto index = indexes_.find(indexName);
  if (index == indexes_.end()) {
    return {};
  }
  auto keys = index->second.keysByValue.find(value);
  if (keys == index->second.keysByValue.end()) {
    return {};
  }
  std::vector<std::string> sorted(keys->second.begin(), keys->second.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<ObjectPtr> objects;
  objects.reserve(sorted.size());
  for (const std::string& key : sorted) {
    auto found = objects_.find(key);
    if (found != objects_.end()) {
      objects.push_back(found->second);
    }
  }
  return objects;
}

std::vector<std::string> ObjectCache::indexValues(const std::string& indexName) const {
  std::shared_lock lock(mutex_);
  auto index = indexes_.find(indexName);
  if (index == indexes_.end()) {
    return {};
  }
  std::vector<std::string> values;
  values.reserve(index->second.keysByValue.size());
  for (const auto& [value, keys] : index->second.keysByValue) {
    values.push_back(value);
  }
  std::sort(values.begin(), values.end());
  return values;
}

ObjectPtr ObjectCache::upsert(ObjectPtr object) {
  if (!object) {
    return nullptr;
  }
  std::string key = objectKey(*object);
  if (key.empty()) {
    return nullptr;
  }
  std::unique_lock lock(mutex_);
  auto [slot, inserted] = objects_.try_emplace(std::move(key), nullptr);
  ObjectPtr previous = std::move(slot->second);
  if (previous) {
    indexRemove(slot->first, *previous);
  }
  indexAdd(slot->first, *object);
  slot->second = std::move(object);
  return previous;
}

ObjectPtr ObjectCache::erase(const std::string& key) {
  std::unique_lock lock(mutex_);
  auto found = objects_.find(key);
  if (found == objects_.end()) {
    return nullptr;
  }
  ObjectPtr previous = std::move(found->second);
  indexRemove(key, *previous);
  objects_.erase(found);
  return previous;
}

std::vector<CacheChange> ObjectCache::replace(std::vector<ObjectPtr> objects) {
  std::map<std::string, ObjectPtr> fresh;
  for (ObjectPtr& object : objects) {
    if (!object) {
      continue;
    }
    std::string key = objectKey(*object);
    if (!key.empty()) {
      fresh.insert_or_assign(std::move(key), std::move(object));
    }
  }
  std::vector<CacheChange> changes;
  changes.reserve(fresh.size());
  std::map<std::string, ObjectPtr> retired;  // declared before the lock: freed after it is released
  std::unique_lock lock(mutex_);
  for (auto& [key, object] : objects_) {
    if (fresh.find(key) == fresh.end()) {
      changes.push_back(CacheChange{key, object, nullptr});
    }
  }
  for (const auto& [key, object] : fresh) {
    auto old = objects_.find(key);
    changes.push_back(CacheChange{key, old == objects_.end() ? nullptr : old->second, object});
  }
  for (auto& [name, index] : indexes_) {
    index.keysByValue.clear();
  }
  retired = std::exchange(objects_, std::move(fresh));
  for (const auto& [key, object] : objects_) {
    indexAdd(key, *object);
  }
  return changes;
}

std::vector<std::string> ObjectCache::valuesOf(const Index& index, const nlohmann::json& object) {
  try {
    return index.function(object);
  } catch (const std::exception&) {
    return {};  // a malformed object: not indexed (see the header)
  }
}

void ObjectCache::indexAdd(const std::string& key, const nlohmann::json& object) {
  for (auto& [name, index] : indexes_) {
    for (std::string& value : valuesOf(index, object)) {
      index.keysByValue[std::move(value)].insert(key);
    }
  }
}

void ObjectCache::indexRemove(const std::string& key, const nlohmann::json& object) {
  for (auto& [name, index] : indexes_) {
    for (const std::string& value : valuesOf(index, object)) {
      auto keys = index.keysByValue.find(value);
      if (keys == index.keysByValue.end()) {
        continue;
      }
      keys->second.erase(key);
      if (keys->second.empty()) {
        index.keysByValue.erase(keys);  // no empty sets left behind: the index stays bounded
      }
    }
  }
}

}  // namespace virtsnap::kube
