#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crds/meta/object_reader.h"

namespace virtsnap::meta {

// metav1.OwnerReference.
struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> blockOwnerDeletion;

  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

// metav1.ObjectMeta. Fields the API server sets are optional (a manifest has none of them);
// timestamps are the RFC 3339 text received. managedFields is server-side apply bookkeeping that
// we never interpret, and fields this struct does not model (selfLink, future additions) are kept
// in unknownFields, so an update never drops what the server sent.
struct ObjectMeta {
  std::optional<std::string> name;
  std::optional<std::string> generateName;
  std::optional<std::string> namespaceName;  // "namespace" on the wire
  std::optional<std::string> uid;
  std::optional<std::string> resourceVersion;
  std::optional<std::int64_t> generation;
  std::optional<std::string> creationTimestamp;
  std::optional<std::string> deletionTimestamp;
  std::optional<std::int64_t> deletionGracePeriodSeconds;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::map<std::string, std::string>> annotations;
  std::optional<std::vector<std::string>> finalizers;
  std::optional<std::vector<OwnerReference>> ownerReferences;
  std::optional<nlohmann::json> managedFields;
  nlohmann::json unknownFields = nlohmann::json::object();

  bool hasFinalizer(std::string_view finalizer) const;
  bool isBeingDeleted() const { return deletionTimestamp.has_value(); }

  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

void to_json(nlohmann::json& json, const OwnerReference& reference);
void to_json(nlohmann::json& json, const ObjectMeta& meta);

OwnerReference decodeOwnerReference(const ObjectReader& reader);
ObjectMeta decodeObjectMeta(const ObjectReader& reader);

}  // namespace virtsnap::meta
