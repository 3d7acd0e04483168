#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crds/object_reader.h"

namespace virtsnap::crds {

// metav1.OwnerReference.
struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;

  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

// metav1.ObjectMeta. Fields the API server sets are optional (a manifest has none of them);
// timestamps are the RFC 3339 text received. managedFields is server-side apply bookkeeping that
// we never interpret, and fields this struct does not model (selfLink, future additions) are kept
// in unknown_fields, so an update never drops what the server sent.
struct ObjectMeta {
  std::optional<std::string> name;
  std::optional<std::string> generate_name;
  std::optional<std::string> namespace_name;  // "namespace" on the wire
  std::optional<std::string> uid;
  std::optional<std::string> resource_version;
  std::optional<std::int64_t> generation;
  std::optional<std::string> creation_timestamp;
  std::optional<std::string> deletion_timestamp;
  std::optional<std::int64_t> deletion_grace_period_seconds;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::map<std::string, std::string>> annotations;
  std::optional<std::vector<std::string>> finalizers;
  std::optional<std::vector<OwnerReference>> owner_references;
  std::optional<nlohmann::json> managed_fields;
  nlohmann::json unknown_fields = nlohmann::json::object();

  bool HasFinalizer(std::string_view finalizer) const;
  bool IsBeingDeleted() const { return deletion_timestamp.has_value(); }

  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

void to_json(nlohmann::json& json, const OwnerReference& reference);
void to_json(nlohmann::json& json, const ObjectMeta& meta);

OwnerReference DecodeOwnerReference(const ObjectReader& reader);
ObjectMeta DecodeObjectMeta(const ObjectReader& reader);

}  // namespace virtsnap::crds
