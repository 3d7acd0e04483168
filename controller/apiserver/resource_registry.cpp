#include "controller/apiserver/resource_registry.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "crds/meta/yaml_json.h"

namespace virtsnap::apiserver {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> strings(const nlohmann::json& list) {
  std::vector<std::string> out;
  if (list.is_array()) {
    for (const auto& item : list) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

// The storage version of a CustomResourceDefinition as a ServedResource.
Expected<ServedResource, std::string> fromCrd(const nlohmann::json& crd, const std::string& file) {
  const nlohmann::json& spec = crd.value("spec", nlohmann::json::object());
  const nlohmann::json& names = spec.value("names", nlohmann::json::object());
  ServedResource type;
  type.group = spec.value("group", "");
  type.kind = names.value("kind", "");
  type.plural = names.value("plural", "");
  type.singular = names.value("singular", "");
  type.listKind = names.value("listKind", type.kind + "List");
  type.shortNames = strings(names.value("shortNames", nlohmann::json::array()));
  type.categories = strings(names.value("categories", nlohmann::json::array()));
  type.namespaced = spec.value("scope", "Namespaced") == "Namespaced";
  if (type.group.empty() || type.kind.empty() || type.plural.empty()) {
    return file + ": a CustomResourceDefinition needs spec.group, spec.names.kind and spec.names.plural";
  }
  const nlohmann::json& versions = spec.value("versions", nlohmann::json::array());
  auto served = std::find_if(versions.begin(), versions.end(),
                             [](const nlohmann::json& v) { return v.value("storage", false); });
  if (served == versions.end()) {
    return file + ": no storage version";
  }
  type.version = served->value("name", "");
  type.hasStatus = served->contains("subresources") && (*served)["subresources"].contains("status");
  type.schema = served->value("schema", nlohmann::json::object()).value("openAPIV3Schema", nlohmann::json());
  for (const auto& field : served->value("selectableFields", nlohmann::json::array())) {
    type.selectableFields.push_back(field.value("jsonPath", ""));
  }
  for (const auto& column : served->value("additionalPrinterColumns", nlohmann::json::array())) {
    type.printerColumns.push_back(PrinterColumn{column.value("name", ""), column.value("type", "string"),
                                                column.value("format", ""), column.value("description", ""),
                                                column.value("jsonPath", ""), column.value("priority", 0)});
  }
  type.crd = crd;
  return type;
}

ServedResource builtin(const meta::ResourceType& where, std::vector<std::string> shortNames) {
  ServedResource type;
  static_cast<meta::ResourceType&>(type) = where;
  type.listKind = where.kind + "List";
  type.singular = where.kind;
  std::transform(type.singular.begin(), type.singular.end(), type.singular.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  type.shortNames = std::move(shortNames);
  return type;
}

FieldLabel label(std::string name, std::vector<std::string> paths = {}) {
  if (paths.empty()) {
    paths.push_back(name);
  }
  return FieldLabel{std::move(name), std::move(paths)};
}

PrinterColumn ageColumn() {
  return PrinterColumn{"Age",
                       "date",
                       "",
                       "CreationTimestamp is a timestamp representing the server time when this object was "
                       "created.",
                       ".metadata.creationTimestamp",
                       0};
}

// The selectable fields and Table columns below are kube-apiserver's for these kinds
// (pkg/registry/core/{namespace,event}/strategy.go, pkg/printers/internalversion/printers.go).
ServedResource namespaceType() {
  ServedResource type = builtin(meta::resources::namespaces(), {"ns"});
  type.fieldLabels = {label("metadata.name"), label("status.phase")};
  type.printerColumns = {
      PrinterColumn{"Status", "string", "", "The status of the namespace", ".status.phase", 0}, ageColumn()};
  return type;
}

ServedResource eventType() {
  ServedResource type = builtin(meta::resources::events(), {"ev"});
  type.fieldLabels = {label("metadata.name"),
                      label("metadata.namespace"),
                      label("involvedObject.kind"),
                      label("involvedObject.namespace"),
                      label("involvedObject.name"),
                      label("involvedObject.uid"),
                      label("involvedObject.apiVersion"),
                      label("involvedObject.resourceVersion"),
                      label("involvedObject.fieldPath"),
                      label("reason"),
                      label("reportingComponent"),
                      label("source", {"source.component", "reportingComponent"}),
                      label("type")};
  return type;  // its Table is printed by table.cpp: the columns are computed, not paths
}

ServedResource leaseType() {
  ServedResource type = builtin(meta::resources::leases(), {});
  type.fieldLabels = {label("metadata.name"), label("metadata.namespace")};
  type.printerColumns = {
      PrinterColumn{"Holder", "string", "",
                    "holderIdentity contains the identity of the holder of a current lease.",
                    ".spec.holderIdentity", 0},
      ageColumn()};
  return type;
}

}  // namespace

Expected<ResourceRegistry, std::string> ResourceRegistry::load(const fs::path& crdDir) {
  ResourceRegistry registry;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(crdDir, ec)) {
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return "cannot read the CRD folder " + crdDir.string() + ": " + ec.message();
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto documents = meta::yamlDocumentsToJson(text.str());
    if (!documents) {
      return file.string() + ": " + documents.error();
    }
    for (const nlohmann::json& document : documents.value()) {
      if (document.value("kind", "") != "CustomResourceDefinition") {
        continue;
      }
      auto type = fromCrd(document, file.string());
      if (!type) {
        return type.error();
      }
      registry.types_.push_back(std::move(type).value());
    }
  }
  registry.types_.push_back(namespaceType());
  registry.types_.push_back(eventType());
  registry.types_.push_back(leaseType());
  return registry;
}

const ServedResource* ResourceRegistry::find(const std::string& group, const std::string& version,
                                             const std::string& plural) const {
  for (const ServedResource& type : types_) {
    if (type.group == group && type.version == version && type.plural == plural) {
      return &type;
    }
  }
  return nullptr;
}

const ServedResource* ResourceRegistry::findKind(const std::string& group, const std::string& kind) const {
  for (const ServedResource& type : types_) {
    if (type.group == group && type.kind == kind) {
      return &type;
    }
  }
  return nullptr;
}

}  // namespace virtsnap::apiserver
