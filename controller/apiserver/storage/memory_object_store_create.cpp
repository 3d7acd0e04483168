// Creating an object: type meta, namespace and name (or generateName) checked, system fields set,
// validated, its managers recorded, then committed.

#include "controller/apiserver/random_ids.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/object_names.h"
#include "controller/apiserver/storage/store_errors.h"
#include "controller/apiserver/storage/write_strategy.h"

namespace virtsnap::apiserver {

using nlohmann::json;

ApiResult<json> MemoryObjectStore::create(const ServedResource& type, const std::string& ns, json object,
                                          const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  return createLocked(type, ns, std::move(object), options, warnings, std::nullopt);
}

ApiResult<json> MemoryObjectStore::createLocked(const ServedResource& type, const std::string& ns,
                                                json object, const WriteOptions& options,
                                                std::vector<std::string>* warnings,
                                                const std::optional<std::string>& applyManager) {
  if (!object.is_object()) {
    return badRequestError("the body of the request must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, object)) {
    return *problem;
  }
  json& metadata = metadataOf(object);
  std::string effectiveNs;
  if (type.namespaced) {
    std::string given = stringField(metadata, "namespace");
    effectiveNs = ns.empty() ? given : ns;
    if (!given.empty() && given != effectiveNs) {
      return badRequestError(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    if (effectiveNs.empty()) {
      return badRequestError("the namespace of the provided object must be set for a namespaced resource");
    }
    metadata["namespace"] = effectiveNs;
  } else {
    metadata.erase("namespace");
  }
  std::string name = stringField(metadata, "name");
  if (name.empty()) {
    std::string prefix = stringField(metadata, "generateName");
    if (prefix.empty()) {
      return invalidError(
          type, "",
          {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}});
    }
    for (int attempt = 0; attempt < 8; ++attempt) {
      name = prefix + randomNameSuffix();
      if (find(type, effectiveNs, name) == nullptr) {
        break;
      }
    }
    metadata["name"] = name;
  }
  if (auto causes = nameCauses(type, name); !causes.empty()) {
    return invalidError(type, name, std::move(causes));
  }
  if (!stringField(metadata, "resourceVersion").empty()) {
    return badRequestError("resourceVersion should not be set on objects to be created");
  }
  if (type.namespaced && namespaceType_) {
    const json* owner = find(*namespaceType_, "", effectiveNs);
    if (owner == nullptr) {
      return namespaceNotFoundError(effectiveNs);
    }
    if (beingDeleted(*owner)) {
      return namespaceTerminatingError(effectiveNs);
    }
  }
  if (find(type, effectiveNs, name) != nullptr) {
    return alreadyExistsError(type, name);
  }
  metadata["uid"] = newUid();
  metadata["creationTimestamp"] = timestamp();
  for (const char* system : {"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"}) {
    metadata.erase(system);
  }
  if (isCustomResource(type)) {
    metadata["generation"] = 1;
  }
  if (type.hasStatus) {
    object.erase("status");  // kube resets status on create when it is a subresource
  }
  if (namespaceType_ && type.group.empty() && type.plural == "namespaces" && !object.contains("status")) {
    object["status"] = {{"phase", "Active"}};
  }
  if (auto problem = validateWrite(type, name, object, nullptr, options.fieldValidation, warnings)) {
    return *problem;
  }
  if (!applyManager) {
    ManagerContext context{options.fieldManager.empty() ? "unknown" : options.fieldManager, type.apiVersion(),
                           timestamp(), "", FieldScope::All};
    recordUpdate(json::object(), object, context);
  }
  if (options.dryRun) {
    return object;
  }
  if (auto problem = commit(type, meta::WatchEventType::Added, object, nullptr)) {
    return *problem;
  }
  return object;
}

}  // namespace virtsnap::apiserver
