#pragma once
// Server-side apply and managedFields, a deliberately small model of structured-merge-diff:
// - A field set is the set of leaf paths of an object (maps recurse; scalars, lists and empty maps
//   are leaves, so every list is atomic: applying a list replaces it). FieldsV1 is its wire form
//   ({"f:spec":{"f:vcpus":{}}}, "." marking a path that is both a leaf and a parent).
// - System fields (apiVersion, kind, metadata name/namespace/uid/resourceVersion/generation/
//   creationTimestamp/deletionTimestamp/deletionGracePeriodSeconds/managedFields) are never owned.
// - apply(): fields of the configuration that another manager owns with a different live value are
//   conflicts (409, kube's message) unless forced (then ownership moves); fields the applier owned
//   before and no longer applies are removed unless someone else owns them; the configuration is
//   merged in (maps recursively, everything else replaced); the applier's entry becomes exactly the
//   applied set. Re-applying the same configuration changes nothing.
// - recordUpdate(): a non-apply write gives its manager every field whose value it changed (taking
//   them from other managers) and drops ownership of fields that no longer exist.
// Entries are keyed by (manager, operation, subresource), like kube.

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"
#include "controller/apiserver/api_error.h"

namespace virtsnap::apiserver {

enum class FieldScope { All, NoStatus, StatusOnly };

using FieldPath = std::vector<std::string>;  // "f:spec", "f:vcpus"
using FieldSet = std::set<FieldPath>;

FieldSet ownableFields(const nlohmann::json& object, FieldScope scope);
FieldSet fieldsFromV1(const nlohmann::json& fieldsV1);
nlohmann::json fieldsToV1(const FieldSet& fields);
std::string fieldPathString(const FieldPath& path);  // .spec.vcpus

struct ManagerContext {
  std::string manager;
  std::string apiVersion;
  std::string time;         // RFC 3339
  std::string subresource;  // "" or "status"
  FieldScope scope = FieldScope::All;
};

// Applies `config` to `live`; returns the new object (with managedFields) or a 409 Conflict.
Expected<nlohmann::json, ApiError> serverSideApply(const nlohmann::json& live, const nlohmann::json& config,
                                                   const ManagerContext& context, bool force);

// Records a non-apply write from `old` to `updated` in updated.metadata.managedFields. The entries
// start from old's, unless `updated` carries different ones (a client may reset them, as with kube).
void recordUpdate(const nlohmann::json& old, nlohmann::json& updated, const ManagerContext& context);

}  // namespace virtsnap::apiserver
