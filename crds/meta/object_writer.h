#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/enum_names.h"

namespace virtsnap::meta {

// Writes a field only when it is set, so that absent optional fields stay absent on the wire.
// Enums are written by their wire names; everything else through nlohmann's to_json (ADL).
template <typename T>
void putField(nlohmann::json& object, std::string_view key, const T& value) {
  if constexpr (NamedEnum<T>) {
    object[std::string(key)] = std::string(enumName(value));
  } else {
    object[std::string(key)] = value;
  }
}

template <typename T>
void putOptional(nlohmann::json& object, std::string_view key, const std::optional<T>& value) {
  if (value) {
    putField(object, key, *value);
  }
}

}  // namespace virtsnap::meta
