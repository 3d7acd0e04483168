#include "controller/apiserver/validation/schema_validator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "controller/apiserver/cel/cel.h"
#include "controller/apiserver/cel/regex.h"

namespace virtsnap::apiserver {

namespace {

using nlohmann::json;

// kube-apiserver leaves these to the object meta machinery (the store), not to the CRD's schema.
bool isTypeMetaOrMetadata(const std::string& key) {
  return key == "apiVersion" || key == "kind" || key == "metadata";
}

const json* keyword(const json& schema, const char* name) {
  if (!schema.is_object()) {
    return nullptr;
  }
  auto it = schema.find(name);
  return it != schema.end() ? &*it : nullptr;
}

bool flag(const json& schema, const char* name) {
  const json* v = keyword(schema, name);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

std::string schemaType(const json& schema) {
  const json* t = keyword(schema, "type");
  return t != nullptr && t->is_string() ? t->get<std::string>() : "";
}

// The schema of a map entry: a declared property, else additionalProperties when it is a schema.
const json* entrySchema(const json& schema, const std::string& key, bool* isProperty = nullptr) {
  if (const json* properties = keyword(schema, "properties");
      properties != nullptr && properties->is_object()) {
    auto it = properties->find(key);
    if (it != properties->end()) {
      if (isProperty != nullptr) {
        *isProperty = true;
      }
      return &*it;
    }
  }
  if (isProperty != nullptr) {
    *isProperty = false;
  }
  const json* additional = keyword(schema, "additionalProperties");
  return additional != nullptr && additional->is_object() ? additional : nullptr;
}

const json* itemsSchema(const json& schema) {
  const json* items = keyword(schema, "items");
  return items != nullptr && items->is_object() ? items : nullptr;
}

std::string child(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}
std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// ---- Pruning, nulls and defaults (apiextensions-apiserver's structural pruning and defaulting) ----------

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

bool isNonNullableNull(const json& value, const json& schema) {
  return value.is_null() && !flag(schema, "nullable");
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

// Defaults fill absent fields (and non-nullable nulls); defaulted values are defaulted further inside.
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

// ---- Messages worded as k8s.io/apimachinery's field.Error and kube-openapi's validate package ------------

// Go's %q of a string (strconv.Quote): printable UTF-8 kept, the rest escaped.
std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string goNumber(const json& v) {
  if (v.is_number_float()) {
    return cel::formatDouble(v.get<double>(), 21);
  }
  return v.dump();
}

// Go's %#v of a decoded JSON value (what field.Error prints for maps and slices).
std::string goSharpV(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "interface {}(nil)";
    case json::value_t::string:
      return goQuote(v.get<std::string>());
    case json::value_t::object: {
      std::string out = "map[string]interface {}{";
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        out += (first ? "" : ", ") + goQuote(key) + ":" + goSharpV(item);
        first = false;
      }
      return out + "}";
    }
    case json::value_t::array: {
      std::string out = "[]interface {}{";
      for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i == 0 ? "" : ", ") + goSharpV(v[i]);
      }
      return out + "}";
    }
    default:
      return goNumber(v);
  }
}

// field.Error's rendering of a bad value: strings quoted, numbers and bools plain, null as "null".
std::string badValue(const json& v) {
  if (v.is_null()) {
    return "\"null\"";
  }
  if (v.is_string()) {
    return goQuote(v.get<std::string>());
  }
  if (v.is_boolean() || v.is_number()) {
    return goNumber(v);
  }
  return goSharpV(v);
}

StatusCause invalid(const std::string& field, const json& value, const std::string& detail) {
  return {"FieldValueInvalid", "Invalid value: " + badValue(value) + (detail.empty() ? "" : ": " + detail),
          field};
}
StatusCause typeInvalid(const std::string& field, const json& value, const std::string& detail) {
  return {"FieldValueTypeInvalid", "Invalid value: " + badValue(value) + ": " + detail, field};
}
StatusCause required(const std::string& field, const std::string& detail) {
  return {"FieldValueRequired", "Required value" + (detail.empty() ? "" : ": " + detail), field};
}
StatusCause forbidden(const std::string& field, const std::string& detail) {
  return {"FieldValueForbidden", "Forbidden" + (detail.empty() ? "" : ": " + detail), field};
}
StatusCause duplicate(const std::string& field, const json& value) {
  return {"FieldValueDuplicate", "Duplicate value: " + badValue(value), field};
}
StatusCause tooLong(const std::string& field, std::int64_t max) {
  return {"FieldValueTooLong",
          "Too long: may not be more than " + std::to_string(max) + (max == 1 ? " byte" : " bytes"), field};
}
StatusCause tooMany(const std::string& field, std::size_t actual, std::int64_t max) {
  return {"FieldValueTooMany",
          "Too many: " + std::to_string(actual) + ": must have at most " + std::to_string(max) +
              (max == 1 ? " item" : " items"),
          field};
}

// The path of an error with no field (kube-apiserver prints a nil field.Path as "<nil>").
const char* const kNoField = "<nil>";

// ---- Schema validation (kube-openapi's validate package over a structural schema) -----------------------

std::string dataType(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    default:
      return "object";
  }
}

bool isIntegral(const json& v) {
  if (v.is_number_integer()) {
    return true;
  }
  const double d = v.is_number_float() ? v.get<double>() : 0.5;
  return std::isfinite(d) && std::trunc(d) == d;
}

bool typeMatches(const std::string& wanted, const json& v) {
  const std::string actual = dataType(v);
  return wanted.empty() || wanted == actual || (wanted == "number" && actual == "integer") ||
         (wanted == "integer" && actual == "number" && isIntegral(v));
}

std::size_t runeCount(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool isDigits(const std::string& s, std::size_t from, std::size_t count) {
  for (std::size_t i = from; i < from + count; ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

// strfmt's formats the CRDs use; unknown formats are stripped by kube-apiserver, so they pass.
bool formatValid(const std::string& format, const std::string& s) {
  static const char* const kPatterns[][2] = {
      {"date-time",
       R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$)"},
      {"datetime",
       R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$)"},
      {"date", R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}$)"},
      {"uuid", R"(^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$)"},
      {"ipv4",
       R"(^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$)"},
      {"byte", R"(^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$)"},
  };
  for (const auto& [name, pattern] : kPatterns) {
    if (format != name) {
      continue;
    }
    auto regex = cel::compileRegex(pattern);
    if (!regex || !cel::regexSearch(*regex.value(), s)) {
      return false;
    }
    if (format == "date-time" || format == "datetime" || format == "date") {
      // Calendar ranges the pattern cannot express.
      const int month = std::stoi(s.substr(5, 2));
      const int day = std::stoi(s.substr(8, 2));
      if (month < 1 || month > 12 || day < 1 || day > 31) {
        return false;
      }
      if (format != "date" && (!isDigits(s, 11, 2) || std::stoi(s.substr(11, 2)) > 23 ||
                               std::stoi(s.substr(14, 2)) > 59 || std::stoi(s.substr(17, 2)) > 60)) {
        return false;
      }
    }
    return true;
  }
  return true;
}

class SchemaChecker {
 public:
  explicit SchemaChecker(std::vector<StatusCause>& causes) : causes_(causes) {}

  void check(const json& value, const json& schema, const std::string& path, bool root) {
    const bool intOrString = flag(schema, "x-kubernetes-int-or-string");
    const std::string type = intOrString ? "integer,string" : schemaType(schema);
    const std::string name = path.empty() ? "." : path;
    if (value.is_null()) {
      if (!flag(schema, "nullable") && !type.empty()) {
        causes_.push_back(
            typeInvalid(path, "null", name + " in body must be of type " + type + ": \"null\""));
      }
      return;
    }
    const bool typeOk =
        intOrString ? typeMatches("integer", value) || value.is_string() : typeMatches(type, value);
    if (!typeOk) {
      causes_.push_back(
          typeInvalid(path, dataType(value),
                      name + " in body must be of type " + type + ": " + goQuote(dataType(value))));
    }
    checkAnyOf(value, schema, path);
    checkEnum(value, schema, path);
    if (value.is_string()) {
      checkString(value.get_ref<const std::string&>(), schema, path);
    } else if (value.is_number()) {
      checkNumber(value, schema, path);
    } else if (value.is_array()) {
      checkArray(value, schema, path);
    } else if (value.is_object()) {
      checkObject(value, schema, path, root);
    }
  }

 private:
  // anyOf (only the int-or-string form [{type: integer}, {type: string}] is structural): kube-openapi adds
  // an error without a field, then the first alternative's errors.
  void checkAnyOf(const json& value, const json& schema, const std::string& path) {
    const json* anyOf = keyword(schema, "anyOf");
    if (anyOf == nullptr || !anyOf->is_array() || anyOf->empty()) {
      return;
    }
    std::vector<std::vector<StatusCause>> failures;
    for (const auto& alternative : *anyOf) {
      std::vector<StatusCause> found;
      SchemaChecker(found).check(value, alternative, path, false);
      if (found.empty()) {
        return;
      }
      failures.push_back(std::move(found));
    }
    causes_.push_back(invalid(kNoField, "", "must validate at least one schema (anyOf)"));
    causes_.insert(causes_.end(), failures.front().begin(), failures.front().end());
  }

  void checkEnum(const json& value, const json& schema, const std::string& path) {
    const json* allowed = keyword(schema, "enum");
    if (allowed == nullptr || !allowed->is_array()) {
      return;
    }
    std::string supported;
    for (const auto& option : *allowed) {
      if (option == value ||
          (option.is_number() && value.is_number() && option.get<double>() == value.get<double>())) {
        return;
      }
      supported += (supported.empty() ? "" : ", ") +
                   goQuote(option.is_string() ? option.get<std::string>() : option.dump());
    }
    causes_.push_back({"FieldValueNotSupported",
                       "Unsupported value: " + badValue(value) +
                           (supported.empty() ? "" : ": supported values: " + supported),
                       path});
  }

  void checkString(const std::string& s, const json& schema, const std::string& path) {
    const std::size_t length = runeCount(s);
    if (const json* max = keyword(schema, "maxLength");
        max != nullptr && max->is_number() && static_cast<double>(length) > max->get<double>()) {
      causes_.push_back(tooLong(path, max->get<std::int64_t>()));
    }
    if (const json* min = keyword(schema, "minLength");
        min != nullptr && min->is_number() && static_cast<double>(length) < min->get<double>()) {
      causes_.push_back(invalid(
          path, s,
          path + " in body should be at least " + std::to_string(min->get<std::int64_t>()) + " chars long"));
    }
    if (const json* pattern = keyword(schema, "pattern"); pattern != nullptr && pattern->is_string()) {
      auto regex = cel::compileRegex(pattern->get<std::string>());
      if (!regex) {  // kube-openapi's wording for a pattern that does not compile
        causes_.push_back(invalid(path, s,
                                  path + " in body should match '" + pattern->get<std::string>() +
                                      ", but pattern is invalid: " + regex.error() + "'"));
      } else if (!cel::regexSearch(*regex.value(), s)) {
        causes_.push_back(
            invalid(path, s, path + " in body should match '" + pattern->get<std::string>() + "'"));
      }
    }
    if (const json* format = keyword(schema, "format");
        format != nullptr && format->is_string() && !formatValid(format->get<std::string>(), s)) {
      causes_.push_back(typeInvalid(
          path, s, path + " in body must be of type " + format->get<std::string>() + ": " + goQuote(s)));
    }
  }

  void checkNumber(const json& value, const json& schema, const std::string& path) {
    const double v = value.get<double>();
    if (const json* multiple = keyword(schema, "multipleOf");
        multiple != nullptr && multiple->is_number() && multiple->get<double>() > 0) {
      const double q = v / multiple->get<double>();
      if (std::trunc(q) != q) {
        causes_.push_back(
            invalid(path, value, path + " in body should be a multiple of " + goNumber(*multiple)));
      }
    }
    if (const json* max = keyword(schema, "maximum"); max != nullptr && max->is_number()) {
      const bool exclusive = flag(schema, "exclusiveMaximum");
      if (exclusive ? v >= max->get<double>() : v > max->get<double>()) {
        causes_.push_back(invalid(
            path, value,
            path + " in body should be less than " + (exclusive ? "" : "or equal to ") + goBound(*max)));
      }
    }
    if (const json* min = keyword(schema, "minimum"); min != nullptr && min->is_number()) {
      const bool exclusive = flag(schema, "exclusiveMinimum");
      if (exclusive ? v <= min->get<double>() : v < min->get<double>()) {
        causes_.push_back(invalid(
            path, value,
            path + " in body should be greater than " + (exclusive ? "" : "or equal to ") + goBound(*min)));
      }
    }
  }

  // kube-openapi keeps bounds as float64 and prints them with %v.
  static std::string goBound(const json& bound) { return cel::formatDouble(bound.get<double>(), 21); }

  void checkArray(const json& value, const json& schema, const std::string& path) {
    const std::size_t size = value.size();
    if (const json* max = keyword(schema, "maxItems");
        max != nullptr && max->is_number() && static_cast<double>(size) > max->get<double>()) {
      causes_.push_back(tooMany(path, size, max->get<std::int64_t>()));
    }
    if (const json* min = keyword(schema, "minItems");
        min != nullptr && min->is_number() && static_cast<double>(size) < min->get<double>()) {
      causes_.push_back(invalid(
          path, size,
          path + " in body should have at least " + std::to_string(min->get<std::int64_t>()) + " items"));
    }
    if (const json* items = itemsSchema(schema)) {
      for (std::size_t i = 0; i < size; ++i) {
        check(value[i], *items, indexed(path, i), false);
      }
    }
  }

  void checkObject(const json& value, const json& schema, const std::string& path, bool root) {
    const std::size_t size = value.size();
    if (const json* max = keyword(schema, "maxProperties");
        max != nullptr && max->is_number() && static_cast<double>(size) > max->get<double>()) {
      causes_.push_back(tooMany(path, size, max->get<std::int64_t>()));
    }
    if (const json* min = keyword(schema, "minProperties");
        min != nullptr && min->is_number() && static_cast<double>(size) < min->get<double>()) {
      causes_.push_back(invalid(path, size,
                                path + " in body should have at least " +
                                    std::to_string(min->get<std::int64_t>()) + " properties"));
    }
    if (const json* requiredFields = keyword(schema, "required");
        requiredFields != nullptr && requiredFields->is_array()) {
      for (const auto& field : *requiredFields) {
        if (field.is_string() && !value.contains(field.get<std::string>())) {
          causes_.push_back(required(child(path, field.get<std::string>()), ""));
        }
      }
    }
    for (const auto& [key, item] : value.items()) {
      if (root && isTypeMetaOrMetadata(key)) {
        continue;
      }
      if (const json* sub = entrySchema(schema, key)) {
        check(item, *sub, child(path, key), false);
      }
    }
  }

  std::vector<StatusCause>& causes_;
};

// ---- x-kubernetes-list-type set and map (structurallisttype.ValidateListSetsAndMaps) -------------------

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

// ---- x-kubernetes-validations (apiextensions-apiserver's cel validator) ----------------------------------

class RuleChecker {
 public:
  explicit RuleChecker(std::vector<StatusCause>& causes) : causes_(causes) {}

  void check(const json& value, const json* old, const json& schema, const std::string& path, bool root) {
    if (const json* rules = keyword(schema, "x-kubernetes-validations");
        rules != nullptr && rules->is_array()) {
      for (const auto& rule : *rules) {
        if (rule.is_object()) {
          checkRule(rule, value, old, schema, path);
        }
      }
    }
    if (value.is_object()) {
      for (const auto& [key, item] : value.items()) {
        if (root && isTypeMetaOrMetadata(key)) {
          continue;
        }
        bool isProperty = false;
        const json* sub = entrySchema(schema, key, &isProperty);
        if (sub == nullptr) {
          continue;
        }
        const json* oldItem = nullptr;
        if (old != nullptr && old->is_object()) {
          auto it = old->find(key);
          oldItem = it != old->end() ? &*it : nullptr;
        }
        check(item, oldItem, *sub, isProperty ? child(path, key) : path + "[" + key + "]", false);
      }
    } else if (value.is_array()) {
      const json* items = itemsSchema(schema);
      if (items == nullptr) {
        return;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(value[i], correlatedOldItem(value[i], old, schema), *items, indexed(path, i), false);
      }
    }
  }

 private:
  // Only list-type map items have an old self: the old item with the same keys.
  static const json* correlatedOldItem(const json& item, const json* old, const json& schema) {
    const json* listType = keyword(schema, "x-kubernetes-list-type");
    const json* mapKeys = keyword(schema, "x-kubernetes-list-map-keys");
    if (old == nullptr || !old->is_array() || listType == nullptr || *listType != "map" ||
        mapKeys == nullptr || !mapKeys->is_array() || !item.is_object()) {
      return nullptr;
    }
    for (const auto& candidate : *old) {
      if (!candidate.is_object()) {
        continue;
      }
      bool same = true;
      for (const auto& k : *mapKeys) {
        const std::string key = k.is_string() ? k.get<std::string>() : "";
        same = same && item.value(key, json()) == candidate.value(key, json());
      }
      if (same) {
        return &candidate;
      }
    }
    return nullptr;
  }

  void checkRule(const json& rule, const json& value, const json* old, const json& schema,
                 const std::string& path) {
    const std::string source = rule.value("rule", "");
    const std::string message = trimmed(rule.value("message", ""));
    const std::string shown = message.empty() ? trimmed(source) : message;
    // field.Error shows the schema's type as the bad value ("string", "object"; "" for int-or-string).
    const json typeValue = schemaType(schema);
    auto program = cel::compile(source);
    if (!program) {
      causes_.push_back(invalid(path, typeValue, "rule compile error: " + program.error()));
      return;
    }
    const cel::Program& compiled = *program.value();
    cel::Activation activation;
    activation.emplace("self", cel::Value::fromJson(value, &schema));
    if (compiled.references("oldSelf")) {
      if (old == nullptr) {
        return;  // a transition rule: only on update, and only when the old value exists
      }
      activation.emplace("oldSelf", cel::Value::fromJson(*old, &schema));
    }
    const cel::Value result = compiled.evaluate(activation);
    if (result.isError()) {
      const std::string& error = result.asString();
      if (error.rfind("no such overload", 0) == 0) {
        causes_.push_back(invalid(path, typeValue,
                                  "'" + error +
                                      "': call arguments did not match a supported operator, function or "
                                      "macro signature for rule: " +
                                      shown));
      } else {
        causes_.push_back(invalid(path, typeValue, error + " evaluating rule: " + shown));
      }
      return;
    }
    if (result.kind() == cel::Value::Kind::Bool && result.asBool()) {
      return;
    }
    if (result.kind() != cel::Value::Kind::Bool) {
      causes_.push_back(invalid(path, typeValue, "rule result must be a boolean: " + shown));
      return;
    }
    std::string detail = message.empty() ? "failed rule: " + trimmed(source) : message;
    if (const std::string expression = rule.value("messageExpression", ""); !expression.empty()) {
      detail = messageFromExpression(expression, activation).value_or(detail);
    }
    std::string field = path;
    if (const std::string fieldPath = rule.value("fieldPath", ""); !fieldPath.empty()) {
      field = fieldPath[0] == '.' ? path + fieldPath : child(path, fieldPath);
    }
    const std::string reason = rule.value("reason", "FieldValueInvalid");
    if (reason == "FieldValueForbidden") {
      causes_.push_back(forbidden(field, detail));
    } else if (reason == "FieldValueRequired") {
      causes_.push_back(required(field, detail));
    } else if (reason == "FieldValueDuplicate") {
      causes_.push_back(duplicate(field, typeValue));
    } else {
      causes_.push_back(invalid(field, typeValue, detail));
    }
  }

  // A messageExpression's result is used when it is a non-empty single-line string; otherwise the message.
  static std::optional<std::string> messageFromExpression(const std::string& expression,
                                                          const cel::Activation& activation) {
    auto program = cel::compile(expression);
    if (!program) {
      return std::nullopt;
    }
    const cel::Value result = program.value()->evaluate(activation);
    if (result.kind() != cel::Value::Kind::String) {
      return std::nullopt;
    }
    const std::string text = trimmed(result.asString());
    if (text.empty() || text.find_first_of("\r\n") != std::string::npos) {
      return std::nullopt;
    }
    return text;
  }

  static std::string trimmed(const std::string& s) {
    const std::size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
      return "";
    }
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
  }

  std::vector<StatusCause>& causes_;
};

// CEL rules are not run over a value of the wrong type or an unsupported enum value (hasBlockingErr).
bool blocksRules(const std::vector<StatusCause>& causes) {
  return std::any_of(causes.begin(), causes.end(), [](const StatusCause& c) {
    return c.reason == "FieldValueTypeInvalid" || c.reason == "FieldValueNotSupported";
  });
}

}  // namespace

ValidationOutcome validateObject(const ServedResource& type, json& object, const json* old,
                                 FieldValidation fieldValidation) {
  ValidationOutcome outcome;
  if (!type.schema.is_object() || !object.is_object()) {
    return outcome;
  }
  const json& schema = type.schema;

  std::vector<std::string> pruned;
  prune(object, schema, "", true, pruned);
  std::sort(pruned.begin(), pruned.end());
  if (fieldValidation == FieldValidation::Strict && !pruned.empty()) {
    for (const auto& path : pruned) {
      outcome.causes.push_back({"FieldValueUnknown", "unknown field \"" + path + "\"", path});
    }
    return outcome;
  }
  if (fieldValidation == FieldValidation::Warn) {
    for (const auto& path : pruned) {
      outcome.warnings.push_back("unknown field \"" + path + "\"");
    }
  }

  pruneNonNullableNullsWithoutDefaults(object, schema, true);
  applyDefaults(object, schema, true);

  SchemaChecker(outcome.causes).check(object, schema, "", true);
  ListTypeChecker(outcome.causes).check(object, schema, "", true);
  if (blocksRules(outcome.causes)) {
    outcome.causes.push_back(invalid(kNoField, json(),
                                     "some validation rules were not checked because the object was "
                                     "invalid; correct the existing errors to complete validation"));
    return outcome;
  }
  RuleChecker(outcome.causes).check(object, old, schema, "", true);
  return outcome;
}

}  // namespace virtsnap::apiserver
