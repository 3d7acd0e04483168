#include "controller/apiserver/validation/pruning_and_defaults.h"

#include "controller/apiserver/validation/schema_nodes.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

namespace {

bool isNonNullableNull(const json& value, const json& schema) {
  return value.is_null() && !flag(schema, "nullable");
}

}  // namespace

void prune(json& value, const json& schema, const std::string& path, bool root,
           std::vector<std::string>& pruned) {
  if (value.is_array()) {
    if (const json* items = itemsSchema(schema)) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        prune(value[i], *items, indexed(path, i), false, pruned);
      }
    }
    return;
  }
  if (!value.is_object()) {
    return;
  }
  const json* additional = keyword(schema, "additionalProperties");
  const bool keepUnknown = flag(schema, "x-kubernetes-preserve-unknown-fields") ||
                           (additional != nullptr && additional->is_boolean() && additional->get<bool>());
  std::vector<std::string> unknown;
  for (auto& [key, item] : value.items()) {
    if (root && isTypeMetaOrMetadata(key)) {
      continue;
    }
    if (const json* sub = entrySchema(schema, key)) {
      prune(item, *sub, child(path, key), false, pruned);
    } else if (!keepUnknown) {
      unknown.push_back(key);
    }
  }
  for (const auto& key : unknown) {
    value.erase(key);
    pruned.push_back(child(path, key));
  }
}

void pruneNonNullableNullsWithoutDefaults(json& value, const json& schema, bool root) {
  if (value.is_array()) {
    if (const json* items = itemsSchema(schema)) {
      for (auto& item : value) {
        pruneNonNullableNullsWithoutDefaults(item, *items, false);
      }
    }
    return;
  }
  if (!value.is_object()) {
    return;
  }
  std::vector<std::string> drop;
  for (auto& [key, item] : value.items()) {
    const json* sub = root && isTypeMetaOrMetadata(key) ? nullptr : entrySchema(schema, key);
    if (sub == nullptr) {
      continue;
    }
    if (isNonNullableNull(item, *sub) && keyword(*sub, "default") == nullptr) {
      drop.push_back(key);
    } else {
      pruneNonNullableNullsWithoutDefaults(item, *sub, false);
    }
  }
  for (const auto& key : drop) {
    value.erase(key);
  }
}

void applyDefaults(json& value, const json& schema, bool root) {
  if (value.is_array()) {
    if (const json* items = itemsSchema(schema)) {
      for (auto& item : value) {
        if (const json* def = keyword(*items, "default"); def != nullptr && isNonNullableNull(item, *items)) {
          item = *def;
        }
        applyDefaults(item, *items, false);
      }
    }
    return;
  }
  if (!value.is_object()) {
    return;
  }
  if (const json* properties = keyword(schema, "properties");
      properties != nullptr && properties->is_object()) {
    for (const auto& [key, sub] : properties->items()) {
      const json* def = keyword(sub, "default");
      if (def == nullptr || (root && isTypeMetaOrMetadata(key))) {
        continue;
      }
      auto it = value.find(key);
      if (it == value.end() || isNonNullableNull(*it, sub)) {
        value[key] = *def;
      }
    }
  }
  for (auto& [key, item] : value.items()) {
    if (root && isTypeMetaOrMetadata(key)) {
      continue;
    }
    bool isProperty = false;
    if (const json* sub = entrySchema(schema, key, &isProperty)) {
      if (const json* def = keyword(*sub, "default");
          !isProperty && def != nullptr && isNonNullableNull(item, *sub)) {
        item = *def;
      }
      applyDefaults(item, *sub, false);
    }
  }
}

}  // namespace virtsnap::apiserver::validation
