// Replacing an object (PUT), and the end every update shares with patches and apply: system fields
// kept, finalizer rules, validation, generation, managers, and no write when nothing changed.

#include <algorithm>

#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"
#include "controller/apiserver/storage/write_strategy.h"

namespace virtsnap::apiserver {

using nlohmann::json;

ApiResult<json> MemoryObjectStore::update(const ServedResource& type, const std::string& ns,
                                          const std::string& name, json object, bool statusSubresource,
                                          const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  if (statusSubresource && !type.hasStatus) {
    return notFoundError(type, name);
  }
  if (!object.is_object()) {
    return badRequestError("the body of the request must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, object)) {
    return *problem;
  }
  json& metadata = metadataOf(object);
  std::string given = stringField(metadata, "name");
  if (!given.empty() && given != name) {
    return badRequestError("the name of the object (" + given + ") does not match the name on the URL (" +
                           name + ")");
  }
  std::string givenNs = stringField(metadata, "namespace");
  if (type.namespaced && !givenNs.empty() && !ns.empty() && givenNs != ns) {
    return badRequestError(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  const json* old = find(type, ns, name);
  if (old == nullptr) {
    return notFoundError(type, name);
  }
  std::string version = stringField(metadata, "resourceVersion");
  if (!version.empty() && version != stringField(metadataOf(*old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  json current = *old;  // finishUpdate may replace the stored object
  return finishUpdate(type, current, prepareUpdate(type, current, std::move(object), statusSubresource),
                      statusSubresource, options, warnings, true);
}

ApiResult<json> MemoryObjectStore::finishUpdate(const ServedResource& type, const json& old, json updated,
                                                bool statusSubresource, const WriteOptions& options,
                                                std::vector<std::string>* warnings, bool recordManager) {
  const json& oldMetadata = metadataOf(old);
  json& metadata = metadataOf(updated);
  const std::string name = stringField(oldMetadata, "name");
  std::string uid = stringField(metadata, "uid");
  if (!uid.empty() && uid != stringField(oldMetadata, "uid")) {
    return invalidError(
        type, name,
        {{"FieldValueInvalid", "Invalid value: \"" + uid + "\": field is immutable", "metadata.uid"}});
  }
  // System fields come from the stored object whatever the client sent.
  for (const char* system : {"name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion",
                             "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    if (oldMetadata.contains(system)) {
      metadata[system] = oldMetadata[system];
    } else {
      metadata.erase(system);
    }
  }
  metadata.erase("selfLink");
  if (beingDeleted(old)) {
    std::vector<std::string> before = finalizersOf(old);
    std::string added;
    for (const std::string& finalizer : finalizersOf(updated)) {
      if (std::find(before.begin(), before.end(), finalizer) == before.end()) {
        added += (added.empty() ? "\"" : ", \"") + finalizer + "\"";
      }
    }
    if (!added.empty()) {
      return invalidError(
          type, name,
          {{"FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new "
            "finalizers []string{" +
                added + "}",
            "metadata.finalizers"}});
    }
  }
  if (auto problem = validateWrite(type, name, updated, &old, options.fieldValidation, warnings)) {
    return *problem;
  }
  if (isCustomResource(type) && generationView(type, updated) != generationView(type, old)) {
    metadata["generation"] = oldMetadata.value("generation", std::int64_t{0}) + 1;
  }
  if (recordManager) {
    ManagerContext context{options.fieldManager.empty() ? "unknown" : options.fieldManager, type.apiVersion(),
                           timestamp(), statusSubresource ? "status" : "", scopeFor(type, statusSubresource)};
    recordUpdate(old, updated, context);
  }
  if (sameObject(updated, old)) {
    return old;  // nothing changed: no write, no new resourceVersion, no event
  }
  if (options.dryRun) {
    return updated;
  }
  const bool emptyIfNamespace = !namespaceType_ || type.plural != namespaceType_->plural ||
                                type.group != namespaceType_->group ||
                                namespaceEmpty(stringField(metadataOf(updated), "name"));
  if (beingDeleted(updated) && finalizersOf(updated).empty() && emptyIfNamespace) {
    // The last finalizer is gone: the deletion completes.
    if (auto problem = commit(type, meta::WatchEventType::Deleted, updated, &old)) {
      return *problem;
    }
    return updated;
  }
  if (auto problem = commit(type, meta::WatchEventType::Modified, updated, &old)) {
    return *problem;
  }
  return updated;
}

}  // namespace virtsnap::apiserver
