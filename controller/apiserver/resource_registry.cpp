#include "controller/apiserver/resource_registry.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "controller/apiserver/yaml_json.h"

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

// One served version of a CustomResourceDefinition as a ResourceType.
Expected<ResourceType, std::string> fromCrd(const nlohmann::json& crd, const std::string& file) {
  const nlohmann::json& spec = crd.value("spec", nlohmann::json::object());
  const nlohmann::json& names = spec.value("names", nlohmann::json::object());
  ResourceType type;
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

ResourceType builtin(std::string group, std::string version, std::string kind, std::string plural,
                     bool namespaced, std::vector<std::string> shortNames) {
  ResourceType type;
  type.group = std::move(group);
  type.version = std::move(version);
  type.kind = kind;
  type.listKind = kind + "List";
  type.plural = std::move(plural);
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  type.singular = kind;
  type.namespaced = namespaced;
  type.shortNames = std::move(shortNames);
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
    auto documents = yamlDocumentsToJson(text.str());
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
  registry.types_.push_back(builtin("", "v1", "Namespace", "namespaces", false, {"ns"}));
  registry.types_.push_back(builtin("", "v1", "Event", "events", true, {"ev"}));
  registry.types_.push_back(builtin("coordination.k8s.io", "v1", "Lease", "leases", true, {}));
  return registry;
}

const ResourceType* ResourceRegistry::find(const std::string& group, const std::string& version,
                                           const std::string& plural) const {
  for (const ResourceType& type : types_) {
    if (type.group == group && type.version == version && type.plural == plural) {
      return &type;
    }
  }
  return nullptr;
}

const ResourceType* ResourceRegistry::findKind(const std::string& group, const std::string& kind) const {
  for (const ResourceType& type : types_) {
    if (type.group == group && type.kind == kind) {
      return &type;
    }
  }
  return nullptr;
}

}  // namespace virtsnap::apiserver
