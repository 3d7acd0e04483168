// Patching an object: JSON patch and merge patch on the stored object, and server-side apply (which
// may create it) on its managed fields.

#include <utility>

#include "controller/apiserver/storage/json_patch.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"
#include "controller/apiserver/storage/write_strategy.h"
#include "controller/apiserver/validation/request_body.h"
#include "crds/meta/yaml_json.h"

namespace virtsnap::apiserver {

using nlohmann::json;

ApiResult<json> MemoryObjectStore::patch(const ServedResource& type, const std::string& ns,
                                         const std::string& name, PatchType patchType,
                                         const std::string& body, bool statusSubresource,
                                         const WriteOptions& options, std::vector<std::string>* warnings) {
  std::lock_guard lock(mutex_);
  if (statusSubresource && !type.hasStatus) {
    return notFoundError(type, name);
  }
  if (patchType == PatchType::StrategicMerge && isCustomResource(type)) {
    // As kube-apiserver: custom resources have no strategic merge patch (no patch strategies).
    return unsupportedMediaTypeError(
        {"application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"});
  }
  if (patchType == PatchType::Apply) {
    return applyLocked(type, ns, name, body, statusSubresource, options, warnings);
  }
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    return notFoundError(type, name);
  }
  json old = *stored;
  auto decoded = decodeJsonBody(body);
  if (!decoded) {
    return badRequestError("error decoding patch: " + decoded.error());
  }
  json document = std::move(decoded).value();
  json patched;
  if (patchType == PatchType::Json) {
    auto result = applyJsonPatch(old, document);
    if (!result) {
      if (result.error().badRequest) {
        return badRequestError(result.error().message);
      }
      // kube: errors.NewGenericServerResponse(422, ...) with the library's text as the cause.
      ApiError error;
      error.code = 422;
      error.reason = "Invalid";
      error.message = "the server rejected our request due to an error in our request";
      error.causes.push_back({"UnexpectedServerResponse", result.error().message, ""});
      return error;
    }
    patched = std::move(result).value();
  } else {
    if (!document.is_object()) {
      return badRequestError("json: cannot unmarshal " + std::string(document.type_name()) +
                             " into Go value of type map[string]interface {}");
    }
    patched = applyMergePatch(old, document);
  }
  if (!patched.is_object()) {
    return badRequestError("the patched object must be a " + type.kind + " object");
  }
  if (auto problem = checkTypeMeta(type, patched)) {
    return *problem;
  }
  const json& metadata = metadataOf(patched);
  std::string patchedName = stringField(metadata, "name");
  if (patchedName != name) {
    return badRequestError("the name of the object (" + patchedName +
                           ") does not match the name on the URL (" + name + ")");
  }
  if (stringField(metadata, "resourceVersion") != stringField(metadataOf(old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  return finishUpdate(type, old, prepareUpdate(type, old, std::move(patched), statusSubresource),
                      statusSubresource, options, warnings, true);
}

ApiResult<json> MemoryObjectStore::applyLocked(const ServedResource& type, const std::string& ns,
                                               const std::string& name, const std::string& body,
                                               bool statusSubresource, const WriteOptions& options,
                                               std::vector<std::string>* warnings) {
  if (options.fieldManager.empty()) {
    ApiError error;
    error.code = 422;
    error.reason = "Invalid";
    error.message =
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply "
        "patch";
    error.group = "meta.k8s.io";
    error.kind = "PatchOptions";
    error.causes.push_back(
        {"FieldValueRequired", "Required value: is required for apply patch", "fieldManager"});
    return error;
  }
  auto documents = meta::yamlDocumentsToJson(body, {.maxNestingDepth = kMaxNestingDepth});
  if (!documents) {
    return badRequestError("error decoding YAML: " + documents.error());
  }
  if (documents.value().size() != 1 || !documents.value().front().is_object()) {
    return badRequestError("an apply configuration must be exactly one object");
  }
  json config = documents.value().front();
  if (stringField(config, "apiVersion").empty() || stringField(config, "kind").empty()) {
    return badRequestError("apiVersion and kind must be set in an apply configuration");
  }
  if (auto problem = checkTypeMeta(type, config)) {
    return *problem;
  }
  const json& metadata = metadataOf(std::as_const(config));
  std::string givenName = stringField(metadata, "name");
  if (!givenName.empty() && givenName != name) {
    return badRequestError("the name of the object (" + givenName + ") does not match the name on the URL (" +
                           name + ")");
  }
  std::string givenNs = stringField(metadata, "namespace");
  if (type.namespaced && !givenNs.empty() && givenNs != ns) {
    return badRequestError(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  ManagerContext context{options.fieldManager, type.apiVersion(), timestamp(),
                         statusSubresource ? "status" : "", scopeFor(type, statusSubresource)};
  const json* stored = find(type, ns, name);
  if (stored == nullptr) {
    if (statusSubresource) {
      return notFoundError(type, name);
    }
    json base{{"apiVersion", type.apiVersion()}, {"kind", type.kind}, {"metadata", {{"name", name}}}};
    if (type.namespaced) {
      base["metadata"]["namespace"] = ns;
    }
    auto applied = serverSideApply(base, config, context, options.force);
    if (!applied) {
      return applied.error();
    }
    return createLocked(type, ns, std::move(applied).value(), options, warnings, options.fieldManager);
  }
  json old = *stored;
  std::string version = stringField(metadata, "resourceVersion");
  if (!version.empty() && version != stringField(metadataOf(old), "resourceVersion")) {
    return conflictError(type, name, kObjectModified);
  }
  auto applied = serverSideApply(old, config, context, options.force);
  if (!applied) {
    return applied.error();
  }
  return finishUpdate(type, old, prepareUpdate(type, old, std::move(applied).value(), statusSubresource),
                      statusSubresource, options, warnings, false);
}

}  // namespace virtsnap::apiserver
