#include "controller/kube/event_recorder.h"

namespace virtsnap::kube {

namespace {

std::string text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

const char* eventTypeName(EventType type) {
  switch (type) {
    case EventType::Normal:
      return "Normal";
    case EventType::Warning:
      return "Warning";
  }
  return "Normal";
}

ObjectReference ObjectReference::of(const nlohmann::json& object) {
  ObjectReference reference;
  reference.apiVersion = text(object, "apiVersion");
  reference.kind = text(object, "kind");
  if (object.is_object() && object.contains("metadata")) {
    const nlohmann::json& metadata = object["metadata"];
    reference.ns = text(metadata, "namespace");
    reference.name = text(metadata, "name");
    reference.uid = text(metadata, "uid");
    reference.resourceVersion = text(metadata, "resourceVersion");
  }
  return reference;
}

nlohmann::json ObjectReference::toJson() const {
  nlohmann::json json = nlohmann::json::object();
  auto put = [&json](const char* key, const std::string& value) {
    if (!value.empty()) {
      json[key] = value;
    }
  };
  put("apiVersion", apiVersion);
  put("kind", kind);
  put("namespace", ns);
  put("name", name);
  put("uid", uid);
  put("resourceVersion", resourceVersion);
  put("fieldPath", fieldPath);
  return json;
}

ObjectReference ObjectReference::fromJson(const nlohmann::json& json) {
  ObjectReference reference;
  reference.apiVersion = text(json, "apiVersion");
  reference.kind = text(json, "kind");
  reference.ns = text(json, "namespace");
  reference.name = text(json, "name");
  reference.uid = text(json, "uid");
  reference.resourceVersion = text(json, "resourceVersion");
  reference.fieldPath = text(json, "fieldPath");
  return reference;
}

}  // namespace virtsnap::kube
