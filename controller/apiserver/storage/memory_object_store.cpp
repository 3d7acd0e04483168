#include "controller/apiserver/storage/memory_object_store.h"

#include "crds/meta/time.h"

namespace virtsnap::apiserver {

using nlohmann::json;

std::string MemoryObjectStore::resourceKey(const ServedResource& type) {
  return type.group + "/" + type.plural;
}

Expected<std::unique_ptr<MemoryObjectStore>, std::string> MemoryObjectStore::open(
    std::filesystem::path dataDir, const ResourceRegistry& registry, Now now, StoreOptions options) {
  if (!now) {
    now = [] { return std::chrono::system_clock::now(); };
  }
  std::unique_ptr<MemoryObjectStore> store(new MemoryObjectStore(std::move(now), options));
  for (const ServedResource& type : registry.all()) {
    if (type.group.empty() && type.plural == "namespaces") {
      store->namespaceType_ = type;
    }
    if (type.namespaced) {
      store->namespacedTypes_.push_back(type);
    }
  }
  WriteAheadLog::Contents contents;
  auto log = WriteAheadLog::open(dataDir, &contents);
  if (!log) {
    return log.error();
  }
  store->log_ = std::move(log).value();
  if (auto problem = store->replay(contents)) {
    return *problem;
  }
  store->hub_ = std::make_unique<WatchHub>(options.watch, store->version_);
  if (auto problem = store->createDefaultNamespaces()) {
    return *problem;
  }
  return store;
}

MemoryObjectStore::~MemoryObjectStore() {
  if (compactor_.joinable()) {
    compactor_.join();  // it uses log_ and mutex_
  }
}

std::string MemoryObjectStore::timestamp() const {
  return meta::formatTime(now_());
}

const json* MemoryObjectStore::find(const ServedResource& type, const std::string& ns,
                                    const std::string& name) const {
  auto resource = resources_.find(resourceKey(type));
  if (resource == resources_.end()) {
    return nullptr;
  }
  auto it = resource->second.find({type.namespaced ? ns : std::string(), name});
  return it == resource->second.end() ? nullptr : &it->second;
}

std::uint64_t MemoryObjectStore::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::uint64_t MemoryObjectStore::logBytes() const {
  std::lock_guard lock(mutex_);
  return log_->logBytes();
}

}  // namespace virtsnap::apiserver
