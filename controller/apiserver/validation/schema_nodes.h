#pragma once
// Walking an OpenAPI v3 structural schema beside the value it describes, and the field paths kube
// prints for what it finds there (spec.disks[0].name).

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace virtsnap::apiserver::validation {

// kube-apiserver leaves these to the object meta machinery (the store), not to the CRD's schema.
bool isTypeMetaOrMetadata(const std::string& key);

// schema[name]; nullptr when the schema is not an object or has no such keyword.
const nlohmann::json* keyword(const nlohmann::json& schema, const char* name);
// schema[name] is true.
bool flag(const nlohmann::json& schema, const char* name);
// schema.type, or "".
std::string schemaType(const nlohmann::json& schema);

// The schema of a map entry: a declared property, else additionalProperties when it is a schema.
// `isProperty` (when given) says which.
const nlohmann::json* entrySchema(const nlohmann::json& schema, const std::string& key,
                                  bool* isProperty = nullptr);
// schema.items when it is a schema.
const nlohmann::json* itemsSchema(const nlohmann::json& schema);

std::string child(const std::string& path, const std::string& name);  // path.name
std::string indexed(const std::string& path, std::size_t i);          // path[i]

}  // namespace virtsnap::apiserver::validation
