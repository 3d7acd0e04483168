#pragma once
// JSON Patch (RFC 6902: add, remove, replace, move, copy, test) and JSON Merge Patch (RFC 7386), with
// the error texts of the library kube-apiserver uses (evanphx/json-patch), so clients see the same
// messages.

#include <string>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

struct PatchError {
  bool badRequest = false;  // the patch document itself is malformed (400); else it does not apply (422)
  std::string message;
};

// Applies an RFC 6902 patch document (a JSON array of operations) to `document`.
Expected<nlohmann::json, PatchError> applyJsonPatch(const nlohmann::json& document,
                                                    const nlohmann::json& patch);

// Applies an RFC 7386 merge patch: objects merge recursively, null deletes, anything else replaces.
nlohmann::json applyMergePatch(const nlohmann::json& document, const nlohmann::json& patch);

}  // namespace virtsnap::apiserver
