#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace virtsnap::crds::testing {

// YAML 1.2 core-schema conversion, the way kubectl turns a manifest into JSON: quoted scalars are
// strings; plain scalars are null, booleans, integers or floats when they look like one.
nlohmann::json YamlToJson(const YAML::Node& node);

// Every document of a YAML file, as JSON.
std::vector<nlohmann::json> LoadYamlDocuments(const std::filesystem::path& file);

// <repo>/<relative>.
std::filesystem::path SourcePath(const std::string& relative);

}  // namespace virtsnap::crds::testing
