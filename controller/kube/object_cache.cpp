#include "controller/kube/object_cache.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <utility>

#include "controller/kube/object_packer.h"

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

// An object counts once under a value however often its index function names it (as a member would).
std::vector<std::string> distinct(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
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

ObjectCache::ObjectCache(Indexers indexers, CacheStorage storage, IndexOrders orders,
                         const CountedIndexes& counted)
    : packer_(storage == CacheStorage::Packed ? std::make_unique<ObjectPacker>() : nullptr) {
  for (auto& [name, function] : indexers) {
    Index& index = indexes_[name];
    index.function = std::move(function);
    index.counted = counted.contains(name);
    if (auto order = orders.find(name); order != orders.end()) {
      index.order = std::move(order->second);
    }
  }
}

ObjectCache::~ObjectCache() = default;

ObjectCache::Slot ObjectCache::store(ObjectPtr object) {
  Slot slot;
  if (packer_) {
    slot.packed = packer_->pack(*object);
  } else {
    slot.object = std::move(object);
  }
  return slot;
}

ObjectPtr ObjectCache::load(const Slot& slot) const {
  if (!packer_) {
    return slot.object;
  }
  return std::make_shared<const nlohmann::json>(packer_->unpack(slot.packed));
}

ObjectPtr ObjectCache::get(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto found = objects_.find(key);
  return found == objects_.end() ? nullptr : load(found->second);
}

std::vector<ObjectPtr> ObjectCache::list() const {
  std::shared_lock lock(mutex_);
  std::vector<ObjectPtr> objects;
  objects.reserve(objects_.size());
  for (const auto& [key, slot] : objects_) {
    objects.push_back(load(slot));
  }
  return objects;
}

std::vector<std::string> ObjectCache::keys() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> keys;
  keys.reserve(objects_.size());
  for (const auto& [key, slot] : objects_) {
    keys.push_back(key);
  }
  return keys;
}

std::size_t ObjectCache::size() const {
  std::shared_lock lock(mutex_);
  return objects_.size();
}

const std::set<ObjectCache::Member>* ObjectCache::membersOf(const std::string& indexName,
                                                            const std::string& value) const {
  auto index = indexes_.find(indexName);
  if (index == indexes_.end()) {
    return nullptr;
  }
  auto members = index->second.membersByValue.find(value);
  return members == index->second.membersByValue.end() ? nullptr : &members->second;
}

std::vector<ObjectPtr> ObjectCache::byIndex(const std::string& indexName, const std::string& value) const {
  std::shared_lock lock(mutex_);
  const std::set<Member>* members = membersOf(indexName, value);
  if (members == nullptr) {
    return {};
  }
  std::vector<ObjectPtr> objects;
  objects.reserve(members->size());
  for (const auto& [order, key] : *members) {
    auto found = objects_.find(key);
    if (found != objects_.end()) {
      objects.push_back(load(found->second));
    }
  }
  return objects;
}

ObjectPtr ObjectCache::firstByIndex(const std::string& indexName, const std::string& value) const {
  std::shared_lock lock(mutex_);
  const std::set<Member>* members = membersOf(indexName, value);
  if (members == nullptr) {
    return nullptr;
  }
  for (const auto& [order, key] : *members) {
    if (auto found = objects_.find(key); found != objects_.end()) {
      return load(found->second);
    }
  }
  return nullptr;
}

std::vector<std::string> ObjectCache::keysByIndex(const std::string& indexName,
                                                  const std::string& value) const {
  std::shared_lock lock(mutex_);
  const std::set<Member>* members = membersOf(indexName, value);
  if (members == nullptr) {
    return {};
  }
  std::vector<std::string> keys;
  keys.reserve(members->size());
  for (const auto& [order, key] : *members) {
    keys.push_back(key);
  }
  return keys;
}

std::size_t ObjectCache::countByIndex(const std::string& indexName, const std::string& value) const {
  std::shared_lock lock(mutex_);
  auto index = indexes_.find(indexName);
  if (index == indexes_.end()) {
    return 0;
  }
  if (index->second.counted) {
    auto count = index->second.countByValue.find(value);
    return count == index->second.countByValue.end() ? 0 : count->second;
  }
  auto members = index->second.membersByValue.find(value);
  return members == index->second.membersByValue.end() ? 0 : members->second.size();
}

std::vector<std::string> ObjectCache::indexValues(const std::string& indexName) const {
  std::shared_lock lock(mutex_);
  auto index = indexes_.find(indexName);
  if (index == indexes_.end()) {
    return {};
  }
  std::vector<std::string> values;
  values.reserve(index->second.membersByValue.size() + index->second.countByValue.size());
  for (const auto& [value, members] : index->second.membersByValue) {
    values.push_back(value);
  }
  for (const auto& [value, count] : index->second.countByValue) {
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
  Slot fresh = store(object);  // before the lock: deflating is the costly part
  std::unique_lock lock(mutex_);
  auto [slot, inserted] = objects_.try_emplace(std::move(key));
  ObjectPtr previous = inserted ? nullptr : load(slot->second);
  if (previous) {
    indexRemove(slot->first, *previous);
  }
  indexAdd(slot->first, *object);
  slot->second = std::move(fresh);
  return previous;
}

ObjectCache::ConditionalUpsert ObjectCache::upsertIf(
    ObjectPtr object, const std::function<bool(const ObjectPtr& previous)>& accept) {
  ConditionalUpsert result;
  if (!object) {
    return result;
  }
  std::string key = objectKey(*object);
  if (key.empty()) {
    return result;
  }
  {
    std::shared_lock lock(mutex_);
    if (auto found = objects_.find(key); found != objects_.end()) {
      result.previous = load(found->second);
    }
  }
  // No other writer runs until this one returns (the header's contract), so what the key holds now is
  // what `accept` judges.
  if (!accept(result.previous)) {
    return result;
  }
  Slot fresh = store(object);
  std::unique_lock lock(mutex_);
  auto [slot, inserted] = objects_.try_emplace(std::move(key));
  if (!inserted) {
    indexRemove(slot->first, result.previous ? *result.previous : *load(slot->second));
  }
  indexAdd(slot->first, *object);
  slot->second = std::move(fresh);
  result.stored = true;
  return result;
}

ObjectPtr ObjectCache::erase(const std::string& key) {
  std::unique_lock lock(mutex_);
  auto found = objects_.find(key);
  if (found == objects_.end()) {
    return nullptr;
  }
  ObjectPtr previous = load(found->second);
  indexRemove(key, *previous);
  objects_.erase(found);
  return previous;
}

std::vector<CacheChange> ObjectCache::replace(std::vector<ObjectPtr> objects, const KeepCached& keepCached) {
  std::map<std::string, ObjectPtr> given;
  for (ObjectPtr& object : objects) {
    if (!object) {
      continue;
    }
    std::string key = objectKey(*object);
    if (!key.empty()) {
      given.insert_or_assign(std::move(key), std::move(object));
    }
  }
  std::map<std::string, Slot> fresh;
  for (const auto& [key, object] : given) {
    fresh.emplace(key, store(object));
  }
  std::vector<CacheChange> changes;
  changes.reserve(given.size());
  std::map<std::string, Slot> retired;  // declared before the lock: freed after it is released
  std::unique_lock lock(mutex_);
  for (auto& [key, slot] : objects_) {
    if (given.find(key) == given.end()) {
      changes.push_back(CacheChange{key, load(slot), nullptr});
    }
  }
  for (auto& [key, object] : given) {
    auto old = objects_.find(key);
    ObjectPtr previous = old == objects_.end() ? nullptr : load(old->second);
    if (previous && keepCached && keepCached(*previous, *object)) {
      fresh.at(key) = std::move(old->second);  // `old` leaves with the retired content: it is not read again
      object = previous;
    }
    changes.push_back(CacheChange{key, previous, object});
  }
  for (auto& [name, index] : indexes_) {
    index.membersByValue.clear();
    index.countByValue.clear();
  }
  retired = std::exchange(objects_, std::move(fresh));
  for (const auto& [key, object] : given) {
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

std::string ObjectCache::orderOf(const Index& index, const nlohmann::json& object) {
  if (!index.order) {
    return {};
  }
  try {
    return index.order(object);
  } catch (const std::exception&) {
    return {};  // a malformed object: first among equals, then by key
  }
}

void ObjectCache::indexAdd(const std::string& key, const nlohmann::json& object) {
  for (auto& [name, index] : indexes_) {
    std::vector<std::string> values = valuesOf(index, object);
    if (values.empty()) {
      continue;
    }
    if (index.counted) {
      for (std::string& value : distinct(std::move(values))) {
        ++index.countByValue[std::move(value)];
      }
      continue;
    }
    const std::string order = orderOf(index, object);
    for (std::string& value : values) {
      index.membersByValue[std::move(value)].emplace(order, key);
    }
  }
}

void ObjectCache::indexRemove(const std::string& key, const nlohmann::json& object) {
  for (auto& [name, index] : indexes_) {
    const std::vector<std::string> values = valuesOf(index, object);
    if (values.empty()) {
      continue;
    }
    if (index.counted) {
      for (const std::string& value : distinct(values)) {
        auto count = index.countByValue.find(value);
        if (count != index.countByValue.end() && --count->second == 0) {
          index.countByValue.erase(count);  // no zero counts left behind
        }
      }
      continue;
    }
    const Member member{orderOf(index, object), key};  // the functions are pure: as when it was added
    for (const std::string& value : values) {
      auto members = index.membersByValue.find(value);
      if (members == index.membersByValue.end()) {
        continue;
      }
      members->second.erase(member);
      if (members->second.empty()) {
        index.membersByValue.erase(members);  // no empty sets left behind: the index stays bounded
      }
    }
  }
}

}  // namespace virtsnap::kube
