#include "controller/apiserver/openapi.h"

#include <functional>
#include <sstream>

namespace virtsnap::apiserver {

namespace {

constexpr const char* kObjectMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
constexpr const char* kListMetaRef = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

std::string pathOf(const ServedResource& type) {
  return type.group.empty() ? "api/" + type.version : "apis/" + type.group + "/" + type.version;
}

// io.virtsnap.v1alpha1.Domain: the group reversed, as kube-apiserver names CRD definitions.
std::string definitionName(const ServedResource& type) {
  if (type.group.empty()) {
    return "io.k8s.api.core." + type.version + "." + type.kind;
  }
  std::vector<std::string> parts;
  std::stringstream group(type.group);
  for (std::string part; std::getline(group, part, '.');) {
    parts.insert(parts.begin(), part);
  }
  std::string name;
  for (const auto& part : parts) {
    name += part + ".";
  }
  return name + type.version + "." + type.kind;
}

nlohmann::json schemaRef(const std::string& name) {
  return {{"$ref", "#/components/schemas/" + name}};
}

nlohmann::json objectMetaSchema() {
  const nlohmann::json stringMap{{"type", "object"},
                                 {"additionalProperties", {{"type", "string"}, {"default", ""}}}};
  return {{"type", "object"},
          {"description", "Standard object's metadata."},
          {"properties",
           {{"name", {{"type", "string"}, {"description", "Name must be unique within a namespace."}}},
            {"generateName", {{"type", "string"}}},
            {"namespace", {{"type", "string"}, {"description", "The namespace of the object."}}},
            {"uid", {{"type", "string"}}},
            {"resourceVersion", {{"type", "string"}}},
            {"generation", {{"type", "integer"}, {"format", "int64"}}},
            {"creationTimestamp", {{"type", "string"}, {"format", "date-time"}}},
            {"deletionTimestamp", {{"type", "string"}, {"format", "date-time"}}},
            {"deletionGracePeriodSeconds", {{"type", "integer"}, {"format", "int64"}}},
            {"labels", stringMap},
            {"annotations", stringMap},
            {"finalizers", {{"type", "array"}, {"items", {{"type", "string"}, {"default", ""}}}}},
            {"ownerReferences",
             {{"type", "array"},
              {"items", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}},
            {"managedFields",
             {{"type", "array"},
              {"items", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}}};
}

nlohmann::json gvk(const ServedResource& type, const std::string& kind) {
  return nlohmann::json::array({{{"group", type.group}, {"version", type.version}, {"kind", kind}}});
}

// The CRD's schema with metadata pointing at ObjectMeta, as kube-apiserver publishes it.
nlohmann::json objectSchema(const ServedResource& type) {
  nlohmann::json schema =
      type.schema.is_object()
          ? type.schema
          : nlohmann::json{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  schema["properties"]["apiVersion"] = {{"type", "string"}, {"description", "APIVersion of this object."}};
  schema["properties"]["kind"] = {{"type", "string"}, {"description", "Kind of this object."}};
  schema["properties"]["metadata"] = {{"allOf", {schemaRef(kObjectMetaRef)}},
                                      {"default", nlohmann::json::object()}};
  schema["x-kubernetes-group-version-kind"] = gvk(type, type.kind);
  return schema;
}

nlohmann::json listSchema(const ServedResource& type) {
  return {{"type", "object"},
          {"required", {"items"}},
          {"properties",
           {{"apiVersion", {{"type", "string"}}},
            {"kind", {{"type", "string"}}},
            {"metadata", {{"allOf", {schemaRef(kListMetaRef)}}, {"default", nlohmann::json::object()}}},
            {"items", {{"type", "array"}, {"items", schemaRef(definitionName(type))}}}}},
          {"x-kubernetes-group-version-kind", gvk(type, type.listKind)}};
}

// The operations kubectl looks for: its query-parameter verifier reads the parameters of PATCH (and
// POST) on each resource path to decide whether the server takes fieldValidation and dryRun.
nlohmann::json writeParameters() {
  nlohmann::json parameters = nlohmann::json::array();
  for (const char* name : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
    parameters.push_back(
        {{"name", name},
         {"in", "query"},
         {"schema", {{"type", name == std::string("force") ? "boolean" : "string"}, {"uniqueItems", true}}}});
  }
  return parameters;
}

void addPaths(nlohmann::json& paths, const ServedResource& type) {
  const std::string base =
      "/" + pathOf(type) + (type.namespaced ? "/namespaces/{namespace}/" : "/") + type.plural;
  const nlohmann::json objectBody{
      {"content", {{"application/json", {{"schema", schemaRef(definitionName(type))}}}}}};
  const nlohmann::json ok{{"200", {{"description", "OK"}, {"content", objectBody["content"]}}}};
  const nlohmann::json gvkExtension{{"group", type.group}, {"version", type.version}, {"kind", type.kind}};
  paths[base] = {{"get",
                  {{"x-kubernetes-action", "list"},
                   {"x-kubernetes-group-version-kind", gvkExtension},
                   {"responses", ok}}},
                 {"post",
                  {{"x-kubernetes-action", "post"},
                   {"x-kubernetes-group-version-kind", gvkExtension},
                   {"parameters", writeParameters()},
                   {"requestBody", objectBody},
                   {"responses", ok}}}};
  const nlohmann::json item{{"get",
                             {{"x-kubernetes-action", "get"},
                              {"x-kubernetes-group-version-kind", gvkExtension},
                              {"responses", ok}}},
                            {"put",
                             {{"x-kubernetes-action", "put"},
                              {"x-kubernetes-group-version-kind", gvkExtension},
                              {"parameters", writeParameters()},
                              {"requestBody", objectBody},
                              {"responses", ok}}},
                            {"patch",
                             {{"x-kubernetes-action", "patch"},
                              {"x-kubernetes-group-version-kind", gvkExtension},
                              {"parameters", writeParameters()},
                              {"responses", ok}}},
                            {"delete",
                             {{"x-kubernetes-action", "delete"},
                              {"x-kubernetes-group-version-kind", gvkExtension},
                              {"responses", ok}}}};
  paths[base + "/{name}"] = item;
  if (type.hasStatus) {
    paths[base + "/{name}/status"] = item;
  }
}

std::string hashOf(const nlohmann::json& document) {
  std::stringstream hex;
  hex << std::uppercase << std::hex << std::hash<std::string>{}(document.dump());
  return hex.str();
}

}  // namespace

nlohmann::json openApiDocument(const ResourceRegistry& registry, const std::string& groupVersionPath) {
  nlohmann::json schemas = nlohmann::json::object();
  nlohmann::json paths = nlohmann::json::object();
  for (const ServedResource& type : registry.all()) {
    if (pathOf(type) == groupVersionPath) {
      schemas[definitionName(type)] = objectSchema(type);
      schemas[definitionName(type) + "List"] = listSchema(type);
      addPaths(paths, type);
    }
  }
  if (schemas.empty()) {
    return nullptr;
  }
  schemas[kObjectMetaRef] = objectMetaSchema();
  schemas[kListMetaRef] = {{"type", "object"},
                           {"properties",
                            {{"continue", {{"type", "string"}}},
                             {"resourceVersion", {{"type", "string"}}},
                             {"remainingItemCount", {{"type", "integer"}, {"format", "int64"}}}}}};
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

nlohmann::json openApiIndex(const ResourceRegistry& registry) {
  nlohmann::json paths = nlohmann::json::object();
  for (const ServedResource& type : registry.all()) {
    const std::string path = pathOf(type);
    if (!paths.contains(path)) {
      paths[path] = {
          {"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + hashOf(openApiDocument(registry, path))}};
    }
  }
  return {{"paths", paths}};
}

}  // namespace virtsnap::apiserver
