#include "crds/object_meta.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include "crds/object_writer.h"

namespace virtsnap::crds {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Every key DecodeObjectMeta reads; anything else goes to unknown_fields.
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

bool IsModeled(std::string_view key) {
  return std::find(kModeledFields.begin(), kModeledFields.end(), key) != kModeledFields.end();
}

}  // namespace

bool ObjectMeta::HasFinalizer(std::string_view finalizer) const {
  return finalizers && std::find(finalizers->begin(), finalizers->end(), finalizer) != finalizers->end();
}

void to_json(nlohmann::json& json, const OwnerReference& reference) {
  json = nlohmann::json::object();
  json["apiVersion"] = reference.api_version;
  json["kind"] = reference.kind;
  json["name"] = reference.name;
  json["uid"] = reference.uid;
  PutOptional(json, "controller", reference.controller);
  PutOptional(json, "blockOwnerDeletion", reference.block_owner_deletion);
}

void to_json(nlohmann::json& json, const ObjectMeta& meta) {
  json = meta.unknown_fields.is_object() ? meta.unknown_fields : nlohmann::json::object();
  PutOptional(json, "name", meta.name);
  PutOptional(json, "generateName", meta.generate_name);
  PutOptional(json, "namespace", meta.namespace_name);
  PutOptional(json, "uid", meta.uid);
  PutOptional(json, "resourceVersion", meta.resource_version);
  PutOptional(json, "generation", meta.generation);
  PutOptional(json, "creationTimestamp", meta.creation_timestamp);
  PutOptional(json, "deletionTimestamp", meta.deletion_timestamp);
  PutOptional(json, "deletionGracePeriodSeconds", meta.deletion_grace_period_seconds);
  PutOptional(json, "labels", meta.labels);
  PutOptional(json, "annotations", meta.annotations);
  PutOptional(json, "finalizers", meta.finalizers);
  PutOptional(json, "ownerReferences", meta.owner_references);
  PutOptional(json, "managedFields", meta.managed_fields);
}

OwnerReference DecodeOwnerReference(const ObjectReader& reader) {
  OwnerReference reference;
  reference.api_version = reader.RequiredString("apiVersion");
  reference.kind = reader.RequiredString("kind");
  reference.name = reader.RequiredString("name");
  reference.uid = reader.RequiredString("uid");
  reference.controller = reader.OptionalBool("controller");
  reference.block_owner_deletion = reader.OptionalBool("blockOwnerDeletion");
  return reference;
}

ObjectMeta DecodeObjectMeta(const ObjectReader& reader) {
  ObjectMeta meta;
  meta.name = reader.OptionalString("name");
  meta.generate_name = reader.OptionalString("generateName");
  meta.namespace_name = reader.OptionalString("namespace");
  meta.uid = reader.OptionalString("uid");
  meta.resource_version = reader.OptionalString("resourceVersion");
  meta.generation = reader.OptionalInteger("generation", 0, kInt64Max);
  meta.creation_timestamp = reader.OptionalTimestamp("creationTimestamp");
  meta.deletion_timestamp = reader.OptionalTimestamp("deletionTimestamp");
  meta.deletion_grace_period_seconds = reader.OptionalInteger("deletionGracePeriodSeconds", 0, kInt64Max);
  meta.labels = reader.OptionalStringMap("labels");
  meta.annotations = reader.OptionalStringMap("annotations");
  meta.finalizers = reader.OptionalStringList("finalizers");
  meta.owner_references = reader.OptionalObjectList("ownerReferences", DecodeOwnerReference);
  if (const nlohmann::json* managed = reader.Find("managedFields")) {
    if (!managed->is_array()) {
      reader.Fail("managedFields", "must be a list, got " + std::string(managed->type_name()));
    }
    meta.managed_fields = *managed;
  }
  for (const auto& [key, value] : reader.Json().items()) {
    if (!IsModeled(key)) {
      meta.unknown_fields[key] = value;
    }
  }
  return meta;
}

}  // namespace virtsnap::crds
