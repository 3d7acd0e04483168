#include "controller/apiserver/storage/write_strategy.h"

#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

using nlohmann::json;

bool isCustomResource(const ServedResource& type) {
  return !type.crd.is_null();
}

std::optional<ApiError> checkTypeMeta(const ServedResource& type, json& object) {
  std::string apiVersion = stringField(object, "apiVersion");
  std::string kind = stringField(object, "kind");
  if (!apiVersion.empty() && apiVersion != type.apiVersion()) {
    return badRequestError("the API version in the data (" + apiVersion +
                           ") does not match the expected API version (" + type.apiVersion() + ")");
  }
  if (!kind.empty() && kind != type.kind) {
    return badRequestError("the kind in the data (" + kind + ") does not match the expected kind (" +
                           type.kind + ")");
  }
  object["apiVersion"] = type.apiVersion();
  object["kind"] = type.kind;
  return std::nullopt;
}

std::optional<ApiError> validateWrite(const ServedResource& type, const std::string& name, json& object,
                                      const json* old, FieldValidation fieldValidation,
                                      std::vector<std::string>* warnings) {
  ValidationOutcome outcome = validateObject(type, object, old, fieldValidation);
  if (warnings != nullptr) {
    warnings->insert(warnings->end(), outcome.warnings.begin(), outcome.warnings.end());
  }
  std::string unknown;
  std::vector<StatusCause> others;
  for (const StatusCause& cause : outcome.causes) {
    if (cause.reason == "FieldValueUnknown") {
      unknown += (unknown.empty() ? "" : ", ") + std::string("unknown field \"") + cause.field + "\"";
    } else {
      others.push_back(cause);
    }
  }
  if (!unknown.empty() && fieldValidation == FieldValidation::Strict) {
    return badRequestError("strict decoding error: " + unknown);
  }
  if (!others.empty()) {
    return invalidError(type, name, std::move(others));
  }
  return std::nullopt;
}

json generationView(const ServedResource& type, json object) {
  object.erase("metadata");
  if (type.hasStatus) {
    object.erase("status");
  }
  return object;
}

bool sameObject(json a, json b) {
  for (json* object : {&a, &b}) {
    json& metadata = metadataOf(*object);
    if (metadata.contains("managedFields") && metadata["managedFields"].is_array()) {
      for (json& entry : metadata["managedFields"]) {
        if (entry.is_object()) {
          entry.erase("time");
        }
      }
    }
  }
  return a == b;
}

FieldScope scopeFor(const ServedResource& type, bool statusSubresource) {
  if (statusSubresource) {
    return FieldScope::StatusOnly;
  }
  return type.hasStatus ? FieldScope::NoStatus : FieldScope::All;
}

json prepareUpdate(const ServedResource& type, const json& old, json incoming, bool statusSubresource) {
  if (statusSubresource) {
    json result = old;
    if (incoming.contains("status")) {
      result["status"] = incoming["status"];
    } else {
      result.erase("status");
    }
    const json& metadata = metadataOf(incoming);
    if (metadata.contains("managedFields")) {
      metadataOf(result)["managedFields"] = metadata["managedFields"];
    }
    return result;
  }
  if (type.hasStatus) {
    if (old.contains("status")) {
      incoming["status"] = old["status"];
    } else {
      incoming.erase("status");
    }
  }
  return incoming;
}

}  // namespace virtsnap::apiserver
