#pragma once
// The resource types the embedded API server serves: the CRDs loaded from crds/ (the single source of
// truth) and the built-in types the agent and kubectl need (core/v1 Namespace and Event,
// coordination.k8s.io/v1 Lease).

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"
#include "crds/meta/resource_type.h"

namespace virtsnap::apiserver {

struct PrinterColumn {
  std::string name;
  std::string type;  // string, integer, number, boolean, date
  std::string format;
  std::string description;
  std::string jsonPath;  // e.g. .status.phase
  int priority = 0;
};

// A field selector label of a built-in kind and the object fields it reads: the first non-empty one
// is its value (kube's Event "source" is source.component, else reportingComponent).
struct FieldLabel {
  std::string label;  // e.g. involvedObject.name
  std::vector<std::string> paths;

  bool operator==(const FieldLabel&) const = default;
};

// A kind as this server serves it: where it lives (meta::ResourceType: group, version, plural, kind,
// scope) and what discovery, validation, selectors and tables need beyond that.
struct ServedResource : meta::ResourceType {
  std::string listKind;
  std::string singular;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  bool hasStatus = false;                     // a /status subresource
  nlohmann::json schema;                      // openAPIV3Schema; null for built-ins (no validation)
  std::vector<std::string> selectableFields;  // JSON paths such as .spec.nodeName
  // Built-ins: every field selector label kube-apiserver accepts for the kind, metadata.* included
  // (a cluster-scoped Namespace has no metadata.namespace). Empty for CRDs: metadata.name,
  // metadata.namespace and selectableFields.
  std::vector<FieldLabel> fieldLabels;
  std::vector<PrinterColumn> printerColumns;
  nlohmann::json crd;  // the CustomResourceDefinition it came from (null for built-ins)
};

class ResourceRegistry {
 public:
  // Loads every CustomResourceDefinition (*.yaml) in `crdDir` and adds the built-ins.
  static Expected<ResourceRegistry, std::string> load(const std::filesystem::path& crdDir);

  const ServedResource* find(const std::string& group, const std::string& version,
                             const std::string& plural) const;
  const ServedResource* findKind(const std::string& group, const std::string& kind) const;
  const std::vector<ServedResource>& all() const { return types_; }

 private:
  std::vector<ServedResource> types_;
};

}  // namespace virtsnap::apiserver
