#pragma once
// Where a kind lives in the API: group, version, plural and whether it is namespaced, and the REST
// paths that follow from them.

#include <string>

namespace virtsnap::meta {

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;

  // "v1" for core, "group/version" otherwise.
  std::string apiVersion() const;
  // /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]; an empty namespace addresses all
  // namespaces (list and watch) or a cluster-scoped kind.
  std::string path(const std::string& ns, const std::string& name = "",
                   const std::string& subresource = "") const;

  friend bool operator==(const ResourceType&, const ResourceType&) = default;
};

// Kubernetes' own kinds that clients and the embedded API server both use; product kinds register
// through meta::Resource<T> (crds/meta/resource.h).
namespace resources {
const ResourceType& events();
const ResourceType& leases();
const ResourceType& namespaces();
}  // namespace resources

}  // namespace virtsnap::meta
