#include "controller/apiserver/validation/schema_nodes.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

bool isTypeMetaOrMetadata(const std::string& key) {
  return key == "apiVersion" || key == "kind" || key == "metadata";
}

const json* keyword(const json& schema, const char* name) {
  if (!schema.is_object()) {
    return nullptr;
  }
  auto it = schema.find(name);
  return it != schema.end() ? &*it : nullptr;
}

bool flag(const json& schema, const char* name) {
  const json* v = keyword(schema, name);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

std::string schemaType(const json& schema) {
  const json* t = keyword(schema, "type");
  return t != nullptr && t->is_string() ? t->get<std::string>() : "";
}

const json* entrySchema(const json& schema, const std::string& key, bool* isProperty) {
  if (const json* properties = keyword(schema, "properties");
      properties != nullptr && properties->is_object()) {
    auto it = properties->find(key);
    if (it != properties->end()) {
      if (isProperty != nullptr) {
        *isProperty = true;
      }
      return &*it;
    }
  }
  if (isProperty != nullptr) {
    *isProperty = false;
  }
  const json* additional = keyword(schema, "additionalProperties");
  return additional != nullptr && additional->is_object() ? additional : nullptr;
}

const json* itemsSchema(const json& schema) {
  const json* items = keyword(schema, "items");
  return items != nullptr && items->is_object() ? items : nullptr;
}

std::string child(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}
std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

}  // namespace virtsnap::apiserver::validation
