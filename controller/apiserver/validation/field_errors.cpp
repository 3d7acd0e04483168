#include "controller/apiserver/validation/field_errors.h"

#include <cstdio>

#include "controller/apiserver/cel/value.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

namespace {

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

}  // namespace

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

}  // namespace virtsnap::apiserver::validation
