#include "controller/kube/event_recorder.h"

#include "controller/kube/json_fields.h"

namespace virtsnap::kube {

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
  reference.apiVersion = stringField(object, "apiVersion");
  reference.kind = stringField(object, "kind");
  if (object.is_object() && object.contains("metadata")) {
    const nlohmann::json& metadata = object["metadata"];
    reference.ns = stringField(metadata, "namespace");
    reference.name = stringField(metadata, "name");
    reference.uid = stringField(metadata, "uid");
    reference.resourceVersion = stringField(metadata, "resourceVersion");
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
  reference.apiVersion = stringField(json, "apiVersion");
  reference.kind = stringField(json, "kind");
  reference.ns = stringField(json, "namespace");
  reference.name = stringField(json, "name");
  reference.uid = stringField(json, "uid");
  reference.resourceVersion = stringField(json, "resourceVersion");
  reference.fieldPath = stringField(json, "fieldPath");
  return reference;
}

}  // namespace virtsnap::kube
