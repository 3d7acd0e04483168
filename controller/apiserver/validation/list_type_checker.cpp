#include "controller/apiserver/validation/list_type_checker.h"

#include <algorithm>

#include "controller/apiserver/validation/field_errors.h"
#include "controller/apiserver/validation/schema_nodes.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

namespace {

class ListTypeChecker {
 public:
  explicit ListTypeChecker(std::vector<StatusCause>& causes) : causes_(causes) {}

  void check(const json& value, const json& schema, const std::string& path, bool root) {
    if (value.is_array()) {
      const json* listType = keyword(schema, "x-kubernetes-list-type");
      if (listType != nullptr && *listType == "set") {
        checkSet(value, path);
      } else if (listType != nullptr && *listType == "map") {
        checkMap(value, schema, path);
      }
      if (const json* items = itemsSchema(schema)) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          check(value[i], *items, indexed(path, i), false);
        }
      }
    } else if (value.is_object()) {
      for (const auto& [key, item] : value.items()) {
        if (root && isTypeMetaOrMetadata(key)) {
          continue;
        }
        if (const json* sub = entrySchema(schema, key)) {
          check(item, *sub, child(path, key), false);
        }
      }
    }
  }

 private:
  void checkSet(const json& value, const std::string& path) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (value[i] == value[j]) {
          causes_.push_back(duplicate(indexed(path, i), value[i]));
          break;
        }
      }
    }
  }

  void checkMap(const json& value, const json& schema, const std::string& path) {
    std::vector<std::string> keys;
    if (const json* mapKeys = keyword(schema, "x-kubernetes-list-map-keys");
        mapKeys != nullptr && mapKeys->is_array()) {
      for (const auto& k : *mapKeys) {
        if (k.is_string()) {
          keys.push_back(k.get<std::string>());
        }
      }
    }
    std::vector<json> seen;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const json& item = value[i];
      if (!item.is_object()) {
        if (!item.is_null()) {
          causes_.push_back(
              invalid(indexed(path, i), item, "must be an object for an array of list-type map"));
        }
        continue;
      }
      if (keys.empty()) {
        continue;
      }
      json key = json::object();
      for (const auto& k : keys) {
        key[k] = item.contains(k) ? item[k] : json();
      }
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        causes_.push_back(duplicate(indexed(path, i), key));
      } else {
        seen.push_back(std::move(key));
      }
    }
  }

  std::vector<StatusCause>& causes_;
};

}  // namespace

void checkListTypes(const json& object, const json& schema, std::vector<StatusCause>& causes) {
  ListTypeChecker(causes).check(object, schema, "", true);
}

}  // namespace virtsnap::apiserver::validation
