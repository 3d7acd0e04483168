#include "controller/apiserver/yaml_json.h"

#include <regex>
#include <string>

#include <yaml-cpp/yaml.h>

namespace virtsnap::apiserver {

namespace {

nlohmann::json plainScalar(const std::string& text) {
  static const std::regex kNull("^(~|null|Null|NULL|)$");
  static const std::regex kBool("^(true|True|TRUE|false|False|FALSE)$");
  static const std::regex kInt("^[-+]?[0-9]+$");
  static const std::regex kFloat("^[-+]?([.][0-9]+|[0-9]+([.][0-9]*)?)([eE][-+]?[0-9]+)?$");
  if (std::regex_match(text, kNull)) {
    return nullptr;
  }
  if (std::regex_match(text, kBool)) {
    return text[0] == 't' || text[0] == 'T';
  }
  if (std::regex_match(text, kInt)) {
    const auto parsed = nlohmann::json::parse(text[0] == '+' ? text.substr(1) : text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;  // too large for 64 bits: keep the text
  }
  if (std::regex_match(text, kFloat)) {
    return std::stod(text);
  }
  return text;
}

nlohmann::json toJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      // "!" marks a quoted (non-plain) scalar: always a string.
      return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& item : node) {
        array.push_back(toJson(item));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        object[entry.first.as<std::string>()] = toJson(entry.second);
      }
      return object;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return nullptr;
}

}  // namespace

Expected<std::vector<nlohmann::json>, std::string> yamlDocumentsToJson(std::string_view text) {
  try {
    std::vector<nlohmann::json> documents;
    for (const YAML::Node& document : YAML::LoadAll(std::string(text))) {
      if (!document.IsNull()) {
        documents.push_back(toJson(document));
      }
    }
    return documents;
  } catch (const YAML::Exception& e) {
    return std::string("malformed YAML: ") + e.what();
  }
}

}  // namespace virtsnap::apiserver
