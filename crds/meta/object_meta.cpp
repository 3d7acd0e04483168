#include "crds/meta/object_meta.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include "crds/meta/object_writer.h"

namespace virtsnap::meta {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Every key decodeObjectMeta reads; anything else goes to unknownFields.
constexpr std::array<std::string_view, 14> kModeledFields{"name",
                                                          "generateName",
                                                          "namespace",
                                                          "uid",
                                                          "resourceVersion",
                                                          "generation",
                                                          "creationTimestamp",
                                                          "deletionTimestamp",
                                                          "deletionGracePeriodSeconds",
                                                          "labels",
                                                          "annotations",
                                                          "finalizers",
                                                          "ownerReferences",
                                                          "managedFields"};

bool isModeled(std::string_view key) {
  return std::find(kModeledFields.begin(), kModeledFields.end(), key) != kModeledFields.end();
}

}  // namespace

bool ObjectMeta::hasFinalizer(std::string_view finalizer) const {
  return finalizers && std::find(finalizers->begin(), finalizers->end(), finalizer) != finalizers->end();
}

void to_json(nlohmann::json& json, const OwnerReference& reference) {
  json = nlohmann::json::object();
  json["apiVersion"] = reference.apiVersion;
  json["kind"] = reference.kind;
  json["name"] = reference.name;
  json["uid"] = reference.uid;
  putOptional(json, "controller", reference.controller);
  putOptional(json, "blockOwnerDeletion", reference.blockOwnerDeletion);
}

void to_json(nlohmann::json& json, const ObjectMeta& meta) {
  json = meta.unknownFields.is_object() ? meta.unknownFields : nlohmann::json::object();
  putOptional(json, "name", meta.name);
  putOptional(json, "generateName", meta.generateName);
  putOptional(json, "namespace", meta.namespaceName);
  putOptional(json, "uid", meta.uid);
  putOptional(json, "resourceVersion", meta.resourceVersion);
  putOptional(json, "generation", meta.generation);
  putOptional(json, "creationTimestamp", meta.creationTimestamp);
  putOptional(json, "deletionTimestamp", meta.deletionTimestamp);
  putOptional(json, "deletionGracePeriodSeconds", meta.deletionGracePeriodSeconds);
  putOptional(json, "labels", meta.labels);
  putOptional(json, "annotations", meta.annotations);
  putOptional(json, "finalizers", meta.finalizers);
  putOptional(json, "ownerReferences", meta.ownerReferences);
  putOptional(json, "managedFields", meta.managedFields);
}

OwnerReference decodeOwnerReference(const ObjectReader& reader) {
  OwnerReference reference;
  reference.apiVersion = reader.requiredString("apiVersion");
  reference.kind = reader.requiredString("kind");
  reference.name = reader.requiredString("name");
  reference.uid = reader.requiredString("uid");
  reference.controller = reader.optionalBool("controller");
  reference.blockOwnerDeletion = reader.optionalBool("blockOwnerDeletion");
  return reference;
}

ObjectMeta decodeObjectMeta(const ObjectReader& reader) {
  ObjectMeta meta;
  meta.name = reader.optionalString("name");
  meta.generateName = reader.optionalString("generateName");
  meta.namespaceName = reader.optionalString("namespace");
  meta.uid = reader.optionalString("uid");
  meta.resourceVersion = reader.optionalString("resourceVersion");
  meta.generation = reader.optionalInteger("generation", 0, kInt64Max);
  meta.creationTimestamp = reader.optionalTimestamp("creationTimestamp");
  meta.deletionTimestamp = reader.optionalTimestamp("deletionTimestamp");
  meta.deletionGracePeriodSeconds = reader.optionalInteger("deletionGracePeriodSeconds", 0, kInt64Max);
  meta.labels = reader.optionalStringMap("labels");
  meta.annotations = reader.optionalStringMap("annotations");
  meta.finalizers = reader.optionalStringList("finalizers");
  meta.ownerReferences = reader.optionalObjectList("ownerReferences", decodeOwnerReference);
  if (const nlohmann::json* managed = reader.find("managedFields")) {
    if (!managed->is_array()) {
      reader.fail("managedFields", "must be a list, got " + std::string(managed->type_name()));
    }
    meta.managedFields = *managed;
  }
  for (const auto& [key, value] : reader.json().items()) {
    if (!isModeled(key)) {
      meta.unknownFields[key] = value;
    }
  }
  return meta;
}

}  // namespace virtsnap::meta
