#include "controller/apiserver/validation/schema_checker.h"

#include <algorithm>
#include <cmath>

#include "controller/apiserver/cel/regex.h"
#include "controller/apiserver/cel/value.h"
#include "controller/apiserver/validation/field_errors.h"
#include "controller/apiserver/validation/schema_nodes.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

namespace {

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

}  // namespace

void checkSchema(const json& object, const json& schema, std::vector<StatusCause>& causes) {
  SchemaChecker(causes).check(object, schema, "", true);
}

}  // namespace virtsnap::apiserver::validation
