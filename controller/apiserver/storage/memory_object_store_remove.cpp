// Deleting an object: preconditions and dry run, then gone at once, or marked for deletion while
// finalizers remain.

#include <algorithm>

#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"
#include "controller/apiserver/storage/write_strategy.h"

namespace virtsnap::apiserver {

using nlohmann::json;

ApiResult<json> MemoryObjectStore::remove(const ServedResource& type, const std::string& ns,
                                          const std::string& name, const json& deleteOptions) {
  std::lock_guard lock(mutex_);
  if (namespaceType_ && type.group == namespaceType_->group && type.plural == namespaceType_->plural) {
    return removeNamespaceLocked(name, deleteOptions);
  }
  return removeLocked(type, ns, name, deleteOptions);
}

ApiResult<json> MemoryObjectStore::removeLocked(const ServedResource& type, const std::string& ns,
                                                const std::string& name, const json& deleteOptions) {
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    return notFoundError(type, name);
  }
  json old = *stored;
  const json& oldMetadata = metadataOf(old);
  bool dryRun = false;
  if (deleteOptions.is_object()) {
    const json& preconditions = deleteOptions.value("preconditions", json::object());
    if (preconditions.is_object()) {
      std::string uid = stringField(preconditions, "uid");
      if (!uid.empty() && uid != stringField(oldMetadata, "uid")) {
        return conflictError(type, name,
                             "Precondition failed: UID in precondition: " + uid +
                                 ", UID in object meta: " + stringField(oldMetadata, "uid"));
      }
      std::string version = stringField(preconditions, "resourceVersion");
      if (!version.empty() && version != stringField(oldMetadata, "resourceVersion")) {
        return conflictError(
            type, name,
            "Precondition failed: ResourceVersion in precondition: " + version +
                ", ResourceVersion in object meta: " + stringField(oldMetadata, "resourceVersion"));
      }
    }
    const json& modes = deleteOptions.value("dryRun", json::array());
    dryRun = modes.is_array() && std::find(modes.begin(), modes.end(), json("All")) != modes.end();
  }
  if (!finalizersOf(old).empty()) {
    if (beingDeleted(old)) {
      return old;  // already waiting for its finalizers
    }
    json updated = old;
    json& metadata = metadataOf(updated);
    metadata["deletionTimestamp"] = timestamp();
    metadata["deletionGracePeriodSeconds"] = 0;
    if (isCustomResource(type)) {
      metadata["generation"] = oldMetadata.value("generation", std::int64_t{0}) + 1;
    }
    if (dryRun) {
      return updated;
    }
    if (auto problem = commit(type, meta::WatchEventType::Modified, updated, &old)) {
      return *problem;
    }
    return updated;
  }
  if (dryRun) {
    return old;
  }
  json last = old;
  if (auto problem = commit(type, meta::WatchEventType::Deleted, last, &old)) {
    return *problem;
  }
  return old;
}

}  // namespace virtsnap::apiserver
