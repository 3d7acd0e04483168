#include "crds/meta/resource_type.h"

namespace virtsnap::meta {

std::string ResourceType::apiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceType::path(const std::string& ns, const std::string& name,
                               const std::string& subresource) const {
  std::string result = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    result += "/namespaces/" + ns;
  }
  result += "/" + plural;
  if (!name.empty()) {
    result += "/" + name;
    if (!subresource.empty()) {
      result += "/" + subresource;
    }
  }
  return result;
}

namespace resources {

const ResourceType& events() {
  static const ResourceType type{"", "v1", "events", "Event", true};
  return type;
}
const ResourceType& leases() {
  static const ResourceType type{"coordination.k8s.io", "v1", "leases", "Lease", true};
  return type;
}
const ResourceType& namespaces() {
  static const ResourceType type{"", "v1", "namespaces", "Namespace", false};
  return type;
}

}  // namespace resources

}  // namespace virtsnap::meta
