#pragma once
// meta.k8s.io/v1 Table output for `kubectl get`: a Name column, the CRD's printer columns (date
// columns as ages, as kube-apiserver prints them), and each row's object metadata.

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

// Whether an Accept header asks for a Table.
bool wantsTable(const std::string& accept);

// `objects` become rows; `listMetadata` (resourceVersion, continue) is kept.
nlohmann::json toTable(const ResourceType& type, const std::vector<nlohmann::json>& objects,
                       const nlohmann::json& listMetadata, std::chrono::system_clock::time_point now);

// Kubernetes' short age format (HumanDuration): 45s, 3m20s, 17m, 5h3m, 2d4h, 3y20d.
std::string humanDuration(std::chrono::seconds age);

// Evaluates a printer column's simple JSONPath (.a.b, .a[0].b) on an object; null when absent.
nlohmann::json evaluateColumnPath(const nlohmann::json& object, const std::string& path);

}  // namespace virtsnap::apiserver
