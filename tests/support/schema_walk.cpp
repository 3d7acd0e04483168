#include "tests/support/schema_walk.h"

#include <regex>

#include "crds/meta/time.h"
#include "tests/support/yaml_files.h"

namespace virtsnap::testsupport {
namespace {

std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

void collectSchemaPaths(const nlohmann::json& schema, const std::string& path, std::set<std::string>& out) {
  if (schema.contains("properties")) {
    for (const auto& [key, child] : schema["properties"].items()) {
      const std::string childPath = join(path, key);
      out.insert(childPath);
      if (childPath != "metadata") {
        collectSchemaPaths(child, childPath, out);
      }
    }
  }
  if (schema.contains("items")) {
    collectSchemaPaths(schema["items"], path + "[]", out);
  }
  if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
    collectSchemaPaths(schema["additionalProperties"], path, out);
  }
}

void collectWrittenPaths(const nlohmann::json& value, const std::string& path, std::set<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      const std::string childPath = join(path, key);
      out.insert(childPath);
      if (childPath != "metadata") {
        collectWrittenPaths(child, childPath, out);
      }
    }
  } else if (value.is_array()) {
    for (const nlohmann::json& item : value) {
      collectWrittenPaths(item, path + "[]", out);
    }
  }
}

class SchemaChecker {
 public:
  std::vector<std::string> problems;

  void check(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (schema.value("x-kubernetes-int-or-string", false)) {
      if (!value.is_number_integer() && !value.is_string()) {
        problem(path, "must be an integer or a string, got " + value.dump());
      }
      checkString(value, schema, path);
      return;
    }
    const std::string type = schema.value("type", "");
    if (type == "object") {
      checkObject(value, schema, path);
    } else if (type == "array") {
      checkArray(value, schema, path);
    } else if (type == "string") {
      if (!value.is_string()) {
        problem(path, "must be a string, got " + value.dump());
        return;
      }
      checkString(value, schema, path);
    } else if (type == "integer") {
      checkInteger(value, schema, path);
    } else if (type == "boolean") {
      if (!value.is_boolean()) {
        problem(path, "must be a boolean, got " + value.dump());
      }
    } else {
      problem(path, "has no type in the schema");
    }
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
      problem(path, value.dump() + " is not one of " + schema["enum"].dump());
    }
  }

 private:
  void problem(const std::string& path, const std::string& what) { problems.push_back(path + ": " + what); }

  void checkObject(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_object()) {
      problem(path, "must be an object, got " + value.dump());
      return;
    }
    if (path == "metadata") {
      return;  // Kubernetes validates metadata itself
    }
    for (const auto& [key, child] : value.items()) {
      const std::string childPath = join(path, key);
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        check(child, schema["properties"][key], childPath);
      } else if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
        check(child, schema["additionalProperties"], childPath);
      } else {
        problem(childPath, "is written by the C++ types but not declared in the CRD schema");
      }
    }
    for (const nlohmann::json& required : schema.value("required", nlohmann::json::array())) {
      if (!value.contains(required.get<std::string>())) {
        problem(join(path, required.get<std::string>()), "is required by the schema but not written");
      }
    }
  }

  void checkArray(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_array()) {
      problem(path, "must be a list, got " + value.dump());
      return;
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>()) {
      problem(path, "has more than maxItems items");
    }
    for (const nlohmann::json& item : value) {
      check(item, schema["items"], path + "[]");
    }
  }

  void checkString(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_string()) {
      return;
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (schema.contains("maxLength") && text.size() > schema["maxLength"].get<std::size_t>()) {
      problem(path, "is longer than maxLength");
    }
    if (schema.contains("minLength") && text.size() < schema["minLength"].get<std::size_t>()) {
      problem(path, "is shorter than minLength");
    }
    if (schema.contains("pattern") &&
        !std::regex_search(text, std::regex(schema["pattern"].get<std::string>()))) {
      problem(path, "\"" + text + "\" does not match " + schema["pattern"].get<std::string>());
    }
    if (schema.value("format", "") == "date-time" && !meta::parseTime(text)) {
      problem(path, "\"" + text + "\" is not a date-time");
    }
  }

  void checkInteger(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path) {
    if (!value.is_number_integer()) {
      problem(path, "must be an integer, got " + value.dump());
      return;
    }
    if (schema.contains("minimum") && value.get<std::int64_t>() < schema["minimum"].get<std::int64_t>()) {
      problem(path, "is below minimum");
    }
    if (schema.contains("maximum") && value.get<std::int64_t>() > schema["maximum"].get<std::int64_t>()) {
      problem(path, "is above maximum");
    }
  }
};

}  // namespace

nlohmann::json loadCrd(const std::string& file) {
  return loadYamlDocuments(sourcePath("crds/" + file)).at(0);
}

const nlohmann::json& openApiSchema(const nlohmann::json& crd) {
  return crd.at("spec").at("versions").at(0).at("schema").at("openAPIV3Schema");
}

const nlohmann::json* resolveSchemaPath(const nlohmann::json& root, std::string_view path) {
  const nlohmann::json* node = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    std::string_view segment =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    std::size_t itemLevels = 0;
    while (segment.size() >= 2 && segment.substr(segment.size() - 2) == "[]") {
      segment.remove_suffix(2);
      ++itemLevels;
    }
    const std::string key(segment);
    if (node->contains("properties") && (*node)["properties"].contains(key)) {
      node = &(*node)["properties"][key];
    } else if (node->contains("additionalProperties") && (*node)["additionalProperties"].is_object()) {
      node = &(*node)["additionalProperties"];
    } else {
      return nullptr;
    }
    for (; itemLevels > 0; --itemLevels) {
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

std::set<std::string> schemaPaths(const nlohmann::json& root) {
  std::set<std::string> paths;
  collectSchemaPaths(root, "", paths);
  return paths;
}

std::set<std::string> writtenPaths(const nlohmann::json& object) {
  std::set<std::string> paths;
  collectWrittenPaths(object, "", paths);
  return paths;
}

std::vector<std::string> schemaProblems(const nlohmann::json& value, const nlohmann::json& schema) {
  SchemaChecker checker;
  checker.check(value, schema, "");
  return checker.problems;
}

}  // namespace virtsnap::testsupport
