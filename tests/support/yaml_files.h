#pragma once
// Files of the repository read as a test needs them: a path under the source tree, and the documents
// of a YAML file as JSON, converted by the shared YAML reader (crds/meta/yaml_json.h, the one the API server
// reads kubectl's manifests through), so tests and server cannot disagree on what a manifest means.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crds/meta/yaml_json.h"

namespace virtsnap::testsupport {

// <repository>/<relative>.
inline std::filesystem::path sourcePath(const std::string& relative) {
  return std::filesystem::path(VIRTSNAP_SOURCE_DIR) / relative;
}

// Every non-empty document of `file`, as JSON. Throws (failing the test) when the file cannot be read
// or is not YAML.
inline std::vector<nlohmann::json> loadYamlDocuments(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error("cannot read " + file.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto documents = meta::yamlDocumentsToJson(text.str());
  if (!documents.has_value()) {
    throw std::runtime_error(file.string() + ": " + documents.error());
  }
  return std::move(documents).value();
}

}  // namespace virtsnap::testsupport
