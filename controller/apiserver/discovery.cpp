#include "controller/apiserver/discovery.h"

#include <set>

namespace virtsnap::apiserver {

namespace {

const std::vector<std::string> kVerbs{"create", "delete", "get", "list", "patch", "update", "watch"};

nlohmann::json resourceEntry(const ServedResource& type) {
  return {{"name", type.plural},
          {"singularName", type.singular},
          {"namespaced", type.namespaced},
          {"kind", type.kind},
          {"verbs", kVerbs},
          {"shortNames", type.shortNames},
          {"categories", type.categories},
          {"storageVersionHash", ""}};
}

}  // namespace

nlohmann::json versionInfo() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0+virtsnap"},
          {"gitCommit", "virtsnap"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-01-01T00:00:00Z"},
          {"goVersion", "n/a (C++)"},
          {"compiler", "gcc"},
          {"platform", "linux/amd64"}};
}

nlohmann::json coreApiVersions() {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}}}};
}

nlohmann::json apiGroupList(const ResourceRegistry& registry) {
  nlohmann::json groups = nlohmann::json::array();
  std::set<std::string> seen;
  for (const ServedResource& type : registry.all()) {
    if (type.group.empty() || !seen.insert(type.group).second) {
      continue;
    }
    const nlohmann::json version{{"groupVersion", type.apiVersion()}, {"version", type.version}};
    groups.push_back({{"name", type.group}, {"versions", {version}}, {"preferredVersion", version}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

nlohmann::json aggregatedDiscovery(const ResourceRegistry& registry, bool legacy) {
  nlohmann::json items = nlohmann::json::array();
  std::set<std::string> seen;
  for (const ServedResource& first : registry.all()) {
    if (first.group.empty() != legacy || !seen.insert(first.group).second) {
      continue;
    }
    nlohmann::json resources = nlohmann::json::array();
    for (const ServedResource& type : registry.all()) {
      if (type.group != first.group) {
        continue;
      }
      nlohmann::json resource{
          {"resource", type.plural},
          {"responseKind", {{"group", type.group}, {"version", type.version}, {"kind", type.kind}}},
          {"scope", type.namespaced ? "Namespaced" : "Cluster"},
          {"singularResource", type.singular},
          {"verbs", kVerbs},
          {"shortNames", type.shortNames},
          {"categories", type.categories}};
      if (type.hasStatus) {
        resource["subresources"] = {
            {{"subresource", "status"},
             {"responseKind", {{"group", type.group}, {"version", type.version}, {"kind", type.kind}}},
             {"verbs", {"get", "patch", "update"}}}};
      }
      resources.push_back(std::move(resource));
    }
    items.push_back(
        {{"metadata", {{"name", first.group}}},
         {"versions", {{{"version", first.version}, {"resources", resources}, {"freshness", "Current"}}}}});
  }
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/v2"},
          {"metadata", nlohmann::json::object()},
          {"items", items}};
}

nlohmann::json apiResourceList(const ResourceRegistry& registry, const std::string& group,
                               const std::string& version) {
  nlohmann::json resources = nlohmann::json::array();
  for (const ServedResource& type : registry.all()) {
    if (type.group != group || type.version != version) {
      continue;
    }
    resources.push_back(resourceEntry(type));
    if (type.hasStatus) {
      resources.push_back({{"name", type.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", type.namespaced},
                           {"kind", type.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) {
    return nullptr;
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

}  // namespace virtsnap::apiserver
