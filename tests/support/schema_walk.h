#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::testsupport {

// Schema paths name fields the way FieldPathLog does: properties joined by ".", list items as
// "[]" ("spec.disks[].create.size"), map values as their parent's path plus ".<key>".

// The CRD manifest crds/<file>, as JSON.
nlohmann::json loadCrd(const std::string& file);
// Its openAPIV3Schema (of its only version).
const nlohmann::json& openApiSchema(const nlohmann::json& crd);

// The schema node for `path`, following properties, additionalProperties and items; nullptr when
// the schema has no such field.
const nlohmann::json* resolveSchemaPath(const nlohmann::json& root, std::string_view path);

// Every path the schema declares below its root, except inside metadata (which Kubernetes owns).
std::set<std::string> schemaPaths(const nlohmann::json& root);

// Every field path present in a JSON object, except inside metadata.
std::set<std::string> writtenPaths(const nlohmann::json& object);

// Checks a value against the schema the way the API server would for the parts that matter for
// drift: every field declared, types, enums, patterns, maxLength, min/max, maxItems, date-time.
// Returns one message per problem, each starting with the path.
std::vector<std::string> schemaProblems(const nlohmann::json& value, const nlohmann::json& schema);

}  // namespace virtsnap::testsupport
