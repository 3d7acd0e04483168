#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/enum_names.h"
#include "crds/meta/decode_error.h"

namespace virtsnap::meta {

// The schema paths of every field a decoder looked up, present or not: list items show as "[]",
// e.g. "spec.disks[].create.size". The schema drift test compares them with the CRDs.
using FieldPathLog = std::set<std::string, std::less<>>;

// Reads the fields of one JSON object that sits at a known path in a document. Every failure
// throws DecodeException naming the field ("spec.disks[1].bus") and saying what was wrong; the
// public decode* functions turn that into a DecodeError. JSON null counts as absent, as it does
// for Kubernetes. Unknown fields are ignored (the API server prunes them anyway).
class ObjectReader {
 public:
  // The document itself. `log`, if given, receives every field path looked up; it must outlive
  // the reader and its children.
  static ObjectReader root(const nlohmann::json& document, FieldPathLog* log);

  const nlohmann::json& json() const { return object_; }
  // Where a field of this object is, for messages: "spec.disks[1]" + "bus" -> "spec.disks[1].bus".
  std::string fieldPath(std::string_view key) const;

  // nullptr when the field is absent or null; records the lookup.
  const nlohmann::json* find(std::string_view key) const;

  std::optional<std::string> optionalString(std::string_view key) const;
  std::string requiredString(std::string_view key) const;
  std::optional<bool> optionalBool(std::string_view key) const;
  std::optional<std::int64_t> optionalInteger(std::string_view key, std::int64_t min, std::int64_t max) const;
  // An RFC 3339 timestamp, validated and kept as the text received.
  std::optional<std::string> optionalTimestamp(std::string_view key) const;
  std::string requiredTimestamp(std::string_view key) const;
  std::optional<std::vector<std::string>> optionalStringList(std::string_view key) const;
  std::optional<std::map<std::string, std::string>> optionalStringMap(std::string_view key) const;

  template <NamedEnum E>
  std::optional<E> optionalEnum(std::string_view key) const {
    const nlohmann::json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_string()) {
      fail(key, "must be a string, got " + std::string(value->type_name()));
    }
    std::optional<E> parsed = parseEnum<E>(value->get_ref<const std::string&>());
    if (!parsed) {
      fail(key, enumMismatch(value->get_ref<const std::string&>(), enumWireNames<E>()));
    }
    return parsed;
  }

  template <NamedEnum E>
  E requiredEnum(std::string_view key) const {
    std::optional<E> value = optionalEnum<E>(key);
    if (!value) {
      failMissing(key);
    }
    return *value;
  }

  // A nested object, decoded by `decode(const ObjectReader&)`.
  template <typename Decode>
  auto optionalObject(std::string_view key, Decode decode) const
      -> std::optional<std::invoke_result_t<Decode, const ObjectReader&>> {
    const nlohmann::json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    return decode(child(*value, fieldPath(key), schemaPath(key)));
  }

  template <typename Decode>
  auto requiredObject(std::string_view key, Decode decode) const
      -> std::invoke_result_t<Decode, const ObjectReader&> {
    auto value = optionalObject(key, decode);
    if (!value) {
      failMissing(key);
    }
    return *std::move(value);
  }

  // A list of objects, each decoded by `decode(const ObjectReader&)`.
  template <typename Decode>
  auto optionalObjectList(std::string_view key, Decode decode) const
      -> std::optional<std::vector<std::invoke_result_t<Decode, const ObjectReader&>>> {
    const nlohmann::json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_array()) {
      fail(key, "must be a list, got " + std::string(value->type_name()));
    }
    std::vector<std::invoke_result_t<Decode, const ObjectReader&>> items;
    items.reserve(value->size());
    const std::string itemSchemaPath = schemaPath(key) + "[]";
    for (std::size_t i = 0; i < value->size(); ++i) {
      items.push_back(
          decode(child((*value)[i], fieldPath(key) + "[" + std::to_string(i) + "]", itemSchemaPath)));
    }
    return items;
  }

  // A field whose value is not a plain JSON type (a quantity, say): `parse(const json&)` returns
  // the value or throws std::invalid_argument, whose message is reported at this field.
  template <typename Parse>
  auto optionalCustom(std::string_view key, Parse parse) const
      -> std::optional<std::invoke_result_t<Parse, const nlohmann::json&>> {
    const nlohmann::json* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    try {
      return parse(*value);
    } catch (const std::invalid_argument& e) {
      fail(key, e.what());
    }
  }

  template <typename Parse>
  auto requiredCustom(std::string_view key, Parse parse) const
      -> std::invoke_result_t<Parse, const nlohmann::json&> {
    auto value = optionalCustom(key, parse);
    if (!value) {
      failMissing(key);
    }
    return *std::move(value);
  }

  [[noreturn]] void fail(std::string_view key, std::string message) const;
  [[noreturn]] void failMissing(std::string_view key) const;

 private:
  // Throws DecodeException at `path` unless `object` is a JSON object.
  ObjectReader(const nlohmann::json& object, std::string path, std::string schemaPath, FieldPathLog* log);

  ObjectReader child(const nlohmann::json& value, std::string path, std::string schemaPath) const;
  std::string schemaPath(std::string_view key) const;
  static std::string enumMismatch(const std::string& got, const std::vector<std::string_view>& allowed);

  const nlohmann::json& object_;
  std::string path_;
  std::string schemaPath_;
  FieldPathLog* log_;
};

}  // namespace virtsnap::meta
