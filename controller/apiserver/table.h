#pragma once
// meta.k8s.io/v1 Table output for `kubectl get`: a Name column and the CRD's printer columns (date
// columns as ages, as kube-apiserver prints them); the built-in kinds get kube-apiserver's own columns
// (Namespace STATUS, Lease HOLDER, Event LAST SEEN, TYPE, REASON, OBJECT, MESSAGE and the wide ones).

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"

namespace virtsnap::apiserver {

// Whether an Accept header asks for a Table.
bool wantsTable(const std::string& accept);

// What each row carries as its object, as kube's TableOptions.includeObject: nothing, the object's
// metadata (PartialObjectMetadata, the default) or the whole object (kubectl --sort-by asks for it).
enum class IncludeObject { None, Metadata, Object };

// `objects` become rows; `listMetadata` (resourceVersion, continue) is kept.
nlohmann::json toTable(const ServedResource& type, const std::vector<nlohmann::json>& objects,
                       const nlohmann::json& listMetadata, std::chrono::system_clock::time_point now,
                       IncludeObject include = IncludeObject::Metadata);

// Kubernetes' short age format (HumanDuration): 45s, 3m20s, 17m, 5h3m, 2d4h, 3y20d.
std::string humanDuration(std::chrono::seconds age);

// Evaluates a printer column's simple JSONPath (.a.b, .a[0].b) on an object; null when absent.
nlohmann::json evaluateColumnPath(const nlohmann::json& object, const std::string& path);

}  // namespace virtsnap::apiserver
