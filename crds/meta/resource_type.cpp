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
  static const ResourceType kType{"", "v1", "events", "Event", true};
  return kType;
}
const ResourceType& leases() {
  static const ResourceType kType{"coordination.k8s.io", "v1", "leases", "Lease", true};
  return kType;
}
const ResourceType& namespaces() {
  static const ResourceType kType{"", "v1", "namespaces", "Namespace", false};
  return kType;
}

}  // namespace resources

}  // namespace virtsnap::meta
