#pragma once
// Reading and writing an object's metadata as the store needs it, whatever shape a client sent: a
// missing or mistyped field reads as empty.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::apiserver {

// object[key] when it is a string, else "".
std::string stringField(const nlohmann::json& object, const char* key);

// object.metadata, made an object first when it is missing or not one.
nlohmann::json& metadataOf(nlohmann::json& object);
// object.metadata, or an empty object.
const nlohmann::json& metadataOf(const nlohmann::json& object);

// metadata.finalizers' strings.
std::vector<std::string> finalizersOf(const nlohmann::json& object);

// metadata.deletionTimestamp is set: the object waits for its finalizers.
bool beingDeleted(const nlohmann::json& object);

}  // namespace virtsnap::apiserver
