#pragma once
// Reading a field of an API object that may be absent or of another type, as the empty string.

#include <string>

#include <nlohmann/json.hpp>

namespace virtsnap::kube {

inline std::string stringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace virtsnap::kube
