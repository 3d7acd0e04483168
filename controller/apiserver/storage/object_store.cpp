#include "controller/apiserver/storage/object_store.h"

#include "controller/apiserver/storage/memory_object_store.h"

namespace virtsnap::apiserver {

Expected<std::unique_ptr<ObjectStore>, std::string> ObjectStore::open(std::filesystem::path dataDir,
                                                                      const ResourceRegistry& registry,
                                                                      Now now) {
  auto store = MemoryObjectStore::open(std::move(dataDir), registry, std::move(now), StoreOptions{});
  if (!store) {
    return store.error();
  }
  return std::unique_ptr<ObjectStore>(std::move(store).value());
}

}  // namespace virtsnap::apiserver
