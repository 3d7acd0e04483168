#include "yaml_to_json.h"

#include <regex>
#include <stdexcept>

namespace virtsnap::crds::testing {
namespace {

nlohmann::json PlainScalar(const std::string& text) {
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
    return nlohmann::json::parse(text[0] == '+' ? text.substr(1) : text);
  }
  if (std::regex_match(text, kFloat)) {
    return std::stod(text);
  }
  return text;
}

}  // namespace

nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // "!" marks a quoted (non-plain) scalar: always a string.
      return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : PlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& item : node) {
        array.push_back(YamlToJson(item));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        object[entry.first.as<std::string>()] = YamlToJson(entry.second);
      }
      return object;
    }
  }
  throw std::logic_error("unknown YAML node type");
}

std::vector<nlohmann::json> LoadYamlDocuments(const std::filesystem::path& file) {
  std::vector<nlohmann::json> documents;
  for (const YAML::Node& document : YAML::LoadAllFromFile(file.string())) {
    if (!document.IsNull()) {
      documents.push_back(YamlToJson(document));
    }
  }
  return documents;
}

std::filesystem::path SourcePath(const std::string& relative) {
  return std::filesystem::path(VIRTSNAP_SOURCE_DIR) / relative;
}

}  // namespace virtsnap::crds::testing
