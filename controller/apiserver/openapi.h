#pragma once
// /openapi/v3: the index of group versions and, for each, an OpenAPI 3 document generated from the
// CRD schemas (with ObjectMeta and x-kubernetes-group-version-kind), so that `kubectl apply` validates
// manifests and `kubectl explain` works.

#include <string>

#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

nlohmann::json openApiIndex(const ResourceRegistry& registry);
// The document for "api/v1" or "apis/<group>/<version>"; null when nothing is served there.
nlohmann::json openApiDocument(const ResourceRegistry& registry, const std::string& groupVersionPath);

}  // namespace virtsnap::apiserver
