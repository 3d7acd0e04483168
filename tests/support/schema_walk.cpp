#include "tests/support/schema_walk.h"

#include <regex>

#include "crds/meta/time.h"
#include "tests/support/yaml_files.h"

namespace virtsnap::testsupport {
namespace {

std::string Join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

void CollectSchemaPaths(const nlohmann::json& schema, const std::string& path, std::set<std::string>& out) {
  if (schema.contains("properties")) {
    for (const auto& [key, child] : schema["properties"].items()) {
      const std::string child_path = Join(path, key);
      out.insert(child_path);
      if (child_path != "metadata") {
        CollectSchemaPaths(child, child_path, out);
      }
    }
  }
  if (schema.contains("items")) {
    CollectSchemaPaths(schema["items"], path + "[]", out);
  }
  if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
    CollectSchemaPaths(schema["additionalProperties"], path, out);
  }
}

void CollectWrittenPaths(const nlohmann::json& value, const std::string& path, std::set<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      const std::string child_path = Join(path, key);
      out.insert(child_path);
      if (child_path != "metadata") {
        CollectWrittenPaths(child, child_path, out);
      }
    }
  } else if (value.is_array()) {
    for (const nlohmann::json& item : value) {
      CollectWrittenPaths(item, path + "[]", out);
    }
  }
}

class SchemaChecker {
 public:
  std::vector<std::string> problems;

  void Check(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (schema.value("x-kubernetes-int-or-string", false)) {
      if (!value.is_number_integer() && !value.is_string()) {
        Problem(path, "must be an integer or a string, got " + value.dump());
      }
      CheckString(value, schema, path);
      return;
    }
    const std::string type = schema.value("type", "");
    if (type == "object") {
      CheckObject(value, schema, path);
    } else if (type == "array") {
      CheckArray(value, schema, path);
    } else if (type == "string") {
      if (!value.is_string()) {
        Problem(path, "must be a string, got " + value.dump());
        return;
      }
      CheckString(value, schema, path);
    } else if (type == "integer") {
      CheckInteger(value, schema, path);
    } else if (type == "boolean") {
      if (!value.is_boolean()) {
        Problem(path, "must be a boolean, got " + value.dump());
      }
    } else {
      Problem(path, "has no type in the schema");
    }
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
      Problem(path, value.dump() + " is not one of " + schema["enum"].dump());
    }
  }

 private:
  void Problem(const std::string& path, const std::string& what) { problems.push_back(path + ": " + what); }

  void CheckObject(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_object()) {
      Problem(path, "must be an object, got " + value.dump());
      return;
    }
    if (path == "metadata") {
      return;  // Kubernetes validates metadata itself
    }
    for (const auto& [key, child] : value.items()) {
      const std::string child_path = Join(path, key);
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        Check(child, schema["properties"][key], child_path);
      } else if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
        Check(child, schema["additionalProperties"], child_path);
      } else {
        Problem(child_path, "is written by the C++ types but not declared in the CRD schema");
      }
    }
    for (const nlohmann::json& required : schema.value("required", nlohmann::json::array())) {
      if (!value.contains(required.get<std::string>())) {
        Problem(Join(path, required.get<std::string>()), "is required by the schema but not written");
      }
    }
  }

  void CheckArray(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_array()) {
      Problem(path, "must be a list, got " + value.dump());
      return;
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>()) {
      Problem(path, "has more than maxItems items");
    }
    for (const nlohmann::json& item : value) {
      Check(item, schema["items"], path + "[]");
    }
  }

  void CheckString(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_string()) {
      return;
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<std::size_t>()) {
      Problem(path, "is longer than maxLength");
    }
    if (schema.contains("minLength") && text.size() < schema["minLength"].get<std::size_t>()) {
      Problem(path, "is shorter than minLength");
    }
    if (schema.contains("pattern") &&
        !std::regex_search(text, std::regex(schema["pattern"].get<std::string>()))) {
      Problem(path, "\"" + text + "\" does not match " + schema["pattern"].get<std::string>());
    }
    if (schema.value("format", "") == "date-time" && !meta::parseTime(text)) {
      Problem(path, "\"" + text + "\" is not a date-time");
    }
  }

  void CheckInteger(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_number_integer()) {
      Problem(path, "must be an integer, got " + value.dump());
      return;
    }
    if (schema.contains("minimum") && value.get<std::int64_t>() < schema["minimum"].get<std::int64_t>()) {
      Problem(path, "is below minimum");
    }
    if (schema.contains("maximum") && value.get<std::int64_t>() > schema["maximum"].get<std::int64_t>()) {
      Problem(path, "is above maximum");
    }
  }
};

}  // namespace

nlohmann::json LoadCrd(const std::string& file) {
  return loadYamlDocuments(sourcePath("crds/" + file)).at(0);
}

const nlohmann::json& OpenApiSchema(const nlohmann::json& crd) {
  return crd.at("spec").at("versions").at(0).at("schema").at("openAPIV3Schema");
}

const nlohmann::json* ResolveSchemaPath(const nlohmann::json& root, std::string_view path) {
  const nlohmann::json* node = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    std::string_view segment =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    std::size_t item_levels = 0;
    while (segment.size() >= 2 && segment.substr(segment.size() - 2) == "[]") {
      segment.remove_suffix(2);
      ++item_levels;
    }
    const std::string key(segment);
    if (node->contains("properties") && (*node)["properties"].contains(key)) {
      node = &(*node)["properties"][key];
    } else if (node->contains("additionalProperties") && (*node)["additionalProperties"].is_object()) {
      node = &(*node)["additionalProperties"];
    } else {
      return nullptr;
    }
    for (; item_levels > 0; --item_levels) {
      if (!node->contains("items")) {
        return nullptr;
      }
      node = &(*node)["items"];
    }
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return node;
}

std::set<std::string> SchemaPaths(const nlohmann::json& root) {
  std::set<std::string> paths;
  CollectSchemaPaths(root, "", paths);
  return paths;
}

std::set<std::string> WrittenPaths(const nlohmann::json& object) {
  std::set<std::string> paths;
  CollectWrittenPaths(object, "", paths);
  return paths;
}

std::vector<std::string> SchemaProblems(const nlohmann::json& value, const nlohmann::json& schema) {
  SchemaChecker checker;
  checker.Check(value, schema, "");
  return checker.problems;
}

}  // namespace virtsnap::testsupport
