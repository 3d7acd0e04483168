#include "crds/meta/object_reader.h"

#include <utility>

#include "crds/meta/time.h"

namespace virtsnap::meta {
namespace {

std::string join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

ObjectReader ObjectReader::root(const nlohmann::json& document, FieldPathLog* log) {
  return ObjectReader(document, "", "", log);
}

ObjectReader::ObjectReader(const nlohmann::json& object, std::string path, std::string schemaPath,
                           FieldPathLog* log)
    : object_(object), path_(std::move(path)), schemaPath_(std::move(schemaPath)), log_(log) {
  if (!object_.is_object()) {
    throw DecodeException({path_, "must be an object, got " + std::string(object_.type_name())});
  }
}

ObjectReader ObjectReader::child(const nlohmann::json& value, std::string path,
                                 std::string schemaPath) const {
  return ObjectReader(value, std::move(path), std::move(schemaPath), log_);
}

std::string ObjectReader::fieldPath(std::string_view key) const {
  return join(path_, key);
}

std::string ObjectReader::schemaPath(std::string_view key) const {
  return join(schemaPath_, key);
}

const nlohmann::json* ObjectReader::find(std::string_view key) const {
  if (log_ != nullptr) {
    log_->insert(schemaPath(key));
  }
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

void ObjectReader::fail(std::string_view key, std::string message) const {
  throw DecodeException({fieldPath(key), std::move(message)});
}

void ObjectReader::failMissing(std::string_view key) const {
  fail(key, "required field is missing");
}

std::string ObjectReader::enumMismatch(const std::string& got, const std::vector<std::string_view>& allowed) {
  std::string message = "must be one of ";
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    message += (i == 0 ? "\"" : ", \"") + std::string(allowed[i]) + "\"";
  }
  return message + "; got \"" + got + "\"";
}

std::optional<std::string> ObjectReader::optionalString(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_string()) {
    fail(key, "must be a string, got " + std::string(value->type_name()));
  }
  return value->get<std::string>();
}

std::string ObjectReader::requiredString(std::string_view key) const {
  std::optional<std::string> value = optionalString(key);
  if (!value) {
    failMissing(key);
  }
  return *std::move(value);
}

std::optional<bool> ObjectReader::optionalBool(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_boolean()) {
    fail(key, "must be a boolean, got " + std::string(value->type_name()));
  }
  return value->get<bool>();
}

std::optional<std::int64_t> ObjectReader::optionalInteger(std::string_view key, std::int64_t min,
                                                          std::int64_t max) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_number_integer()) {
    fail(key,
         "must be an integer, got " + (value->is_number() ? value->dump() : std::string(value->type_name())));
  }
  // A non-negative integer parsed from text is unsigned in nlohmann::json, one built in code is
  // signed: both must meet the same bounds (the fuzzer found 0 slipping past min = 1).
  bool outOfRange = false;
  if (value->is_number_unsigned()) {
    const auto unsignedValue = value->get<std::uint64_t>();
    outOfRange = unsignedValue > static_cast<std::uint64_t>(max) ||
                 (min > 0 && unsignedValue < static_cast<std::uint64_t>(min));
  } else {
    const auto signedValue = value->get<std::int64_t>();
    outOfRange = signedValue > max || signedValue < min;
  }
  if (outOfRange) {
    fail(key,
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + value->dump());
  }
  return value->get<std::int64_t>();
}

std::optional<std::string> ObjectReader::optionalTimestamp(std::string_view key) const {
  std::optional<std::string> value = optionalString(key);
  if (value && !parseTime(*value)) {
    fail(key, "must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z, got \"" + *value + "\"");
  }
  return value;
}

std::string ObjectReader::requiredTimestamp(std::string_view key) const {
  std::optional<std::string> value = optionalTimestamp(key);
  if (!value) {
    failMissing(key);
  }
  return *std::move(value);
}

std::optional<std::vector<std::string>> ObjectReader::optionalStringList(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_array()) {
    fail(key, "must be a list, got " + std::string(value->type_name()));
  }
  std::vector<std::string> items;
  items.reserve(value->size());
  for (std::size_t i = 0; i < value->size(); ++i) {
    const nlohmann::json& item = (*value)[i];
    if (!item.is_string()) {
      throw DecodeException({fieldPath(key) + "[" + std::to_string(i) + "]",
                             "must be a string, got " + std::string(item.type_name())});
    }
    items.push_back(item.get<std::string>());
  }
  return items;
}

std::optional<std::map<std::string, std::string>> ObjectReader::optionalStringMap(
    std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_object()) {
    fail(key, "must be a map of strings, got " + std::string(value->type_name()));
  }
  std::map<std::string, std::string> items;
  for (const auto& [name, item] : value->items()) {
    if (!item.is_string()) {
      throw DecodeException(
          {fieldPath(key) + "." + name, "must be a string, got " + std::string(item.type_name())});
    }
    items.emplace(name, item.get<std::string>());
  }
  return items;
}

}  // namespace virtsnap::meta
