#include "controller/apiserver/storage/object_fields.h"

namespace virtsnap::apiserver {

using nlohmann::json;

std::string stringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json& metadataOf(json& object) {
  json& metadata = object["metadata"];
  if (!metadata.is_object()) {
    metadata = json::object();
  }
  return metadata;
}

const json& metadataOf(const json& object) {
  static const json kEmpty = json::object();
  auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

std::vector<std::string> finalizersOf(const json& object) {
  std::vector<std::string> out;
  const json& metadata = metadataOf(object);
  auto it = metadata.find("finalizers");
  if (it != metadata.end() && it->is_array()) {
    for (const json& item : *it) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

bool beingDeleted(const json& object) {
  return !stringField(metadataOf(object), "deletionTimestamp").empty();
}

}  // namespace virtsnap::apiserver
