#pragma once
// Discovery documents kubectl reads before anything else: /version, /api, /apis (legacy lists and the
// aggregated v2 form), and the APIResourceList of each group version.

#include <string>

#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

// What `Accept` asks /api or /apis for, when it asks for aggregated discovery.
inline constexpr const char* kAggregatedDiscoveryType =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

nlohmann::json versionInfo();
nlohmann::json coreApiVersions();
nlohmann::json apiGroupList(const ResourceRegistry& registry);
// Aggregated discovery for the core group (`legacy` true, /api) or every named group (/apis).
nlohmann::json aggregatedDiscovery(const ResourceRegistry& registry, bool legacy);
// The APIResourceList of one group version; null when the registry serves nothing there.
nlohmann::json apiResourceList(const ResourceRegistry& registry, const std::string& group,
                               const std::string& version);

}  // namespace virtsnap::apiserver
