// Namespaces in the store (kube's namespace lifecycle): the default ones made at open; deleting one
// turns it Terminating, deletes everything in it and removes it once it is empty and unfinalized.

#include <algorithm>

#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

using nlohmann::json;

std::optional<std::string> MemoryObjectStore::createDefaultNamespaces() {
  if (!namespaceType_) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (find(*namespaceType_, "", name) != nullptr) {
      continue;
    }
    WriteOptions options;
    options.fieldManager = "virtsnap-apiserver";
    auto created = createLocked(*namespaceType_, "", json{{"metadata", {{"name", name}}}}, options, nullptr,
                                std::nullopt);
    if (!created) {
      return "cannot create the namespace " + std::string(name) + ": " + created.error().message;
    }
  }
  return std::nullopt;
}

ApiResult<json> MemoryObjectStore::removeNamespaceLocked(const std::string& name, const json& deleteOptions) {
  const json* stored = find(*namespaceType_, "", name);
  if (stored == nullptr) {
    return notFoundError(*namespaceType_, name);
  }
  const json modes = deleteOptions.is_object() ? deleteOptions.value("dryRun", json::array()) : json::array();
  const bool dryRun = modes.is_array() && std::find(modes.begin(), modes.end(), json("All")) != modes.end();
  json old = *stored;
  json terminating = old;
  if (!beingDeleted(old)) {
    metadataOf(terminating)["deletionTimestamp"] = timestamp();
    terminating["status"]["phase"] = "Terminating";
    if (dryRun) {
      return terminating;
    }
    if (auto problem = commit(*namespaceType_, meta::WatchEventType::Modified, terminating, &old)) {
      return *problem;
    }
  } else if (dryRun) {
    return old;
  }
  for (const ServedResource& type : namespacedTypes_) {
    std::vector<std::string> names;
    auto objects = resources_.find(resourceKey(type));
    if (objects == resources_.end()) {
      continue;
    }
    for (auto it = objects->second.lower_bound({name, ""});
         it != objects->second.end() && it->first.first == name; ++it) {
      names.push_back(it->first.second);
    }
    for (const std::string& objectName : names) {
      auto removed = removeLocked(type, name, objectName, json::object());
      if (!removed && removed.error().code >= 500) {
        return removed.error();
      }
    }
  }
  if (auto problem = finishNamespaceIfEmpty(name)) {
    return *problem;
  }
  const json* now = find(*namespaceType_, "", name);
  return now != nullptr ? *now : terminating;
}

bool MemoryObjectStore::namespaceEmpty(const std::string& ns) const {
  for (const ServedResource& type : namespacedTypes_) {
    auto objects = resources_.find(resourceKey(type));
    if (objects == resources_.end()) {
      continue;
    }
    auto it = objects->second.lower_bound({ns, ""});
    if (it != objects->second.end() && it->first.first == ns) {
      return false;
    }
  }
  return true;
}

std::optional<ApiError> MemoryObjectStore::finishNamespaceIfEmpty(const std::string& ns) {
  if (!namespaceType_) {
    return std::nullopt;
  }
  const json* stored = find(*namespaceType_, "", ns);
  if (stored == nullptr || !beingDeleted(*stored) || !finalizersOf(*stored).empty() || !namespaceEmpty(ns)) {
    return std::nullopt;
  }
  json last = *stored;
  json previous = *stored;
  return commit(*namespaceType_, meta::WatchEventType::Deleted, last, &previous);
}

}  // namespace virtsnap::apiserver
