#pragma once
// What kube-apiserver's REST strategies do to an object on its way into the store, whatever the verb:
// type meta checked and filled in, the validator's verdict as kube answers it, the generation rule
// of custom resources, and the /status subresource's split of the object.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/apiserver/api_error.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/server_side_apply.h"
#include "controller/apiserver/validation/schema_validator.h"

namespace virtsnap::apiserver {

// CRD-backed types get kube's custom-resource behaviour (generation, no strategic merge patch).
bool isCustomResource(const ServedResource& type);

// apiVersion and kind must name the type when given; they are filled in when not.
std::optional<ApiError> checkTypeMeta(const ServedResource& type, nlohmann::json& object);

// Validates `object` (defaults and pruning applied in place; `old` on update). Unknown fields under
// Strict are a 400 strict decoding error (before any other problem), anything else a 422; warnings
// are appended to `warnings` when it is given.
std::optional<ApiError> validateWrite(const ServedResource& type, const std::string& name,
                                      nlohmann::json& object, const nlohmann::json* old,
                                      FieldValidation fieldValidation, std::vector<std::string>* warnings);

// What the generation follows: everything but metadata (and status, when it is a subresource).
nlohmann::json generationView(const ServedResource& type, nlohmann::json object);

// Equal but for managedFields timestamps: such a write changes nothing (kube does not record it).
bool sameObject(nlohmann::json a, nlohmann::json b);

// The fields a write through the main resource or /status may own.
FieldScope scopeFor(const ServedResource& type, bool statusSubresource);

// The subresource rules: the main resource keeps the stored status, /status keeps everything of the
// stored object but status (and the managedFields the write brings).
nlohmann::json prepareUpdate(const ServedResource& type, const nlohmann::json& old, nlohmann::json incoming,
                             bool statusSubresource);

}  // namespace virtsnap::apiserver
