#include "controller/apiserver/cel/value.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace virtsnap::apiserver::cel {

namespace {

using nlohmann::json;

const json* childSchema(const json* schema, const char* keyword) {
  if (schema == nullptr || !schema->is_object()) {
    return nullptr;
  }
  auto it = schema->find(keyword);
  return it != schema->end() && it->is_object() ? &*it : nullptr;
}

const json* propertySchema(const json* schema, const std::string& name) {
  if (const json* properties = childSchema(schema, "properties")) {
    auto it = properties->find(name);
    if (it != properties->end()) {
      return &*it;
    }
  }
  return childSchema(schema, "additionalProperties");
}

bool isNumberSchema(const json* schema) {
  if (schema == nullptr || !schema->is_object()) {
    return false;
  }
  auto it = schema->find("type");
  return it != schema->end() && *it == "number";
}

// Exact comparison of an int64 with a double, without the rounding a plain conversion would bring.
int compareIntDouble(std::int64_t i, double d) {
  if (d < -9223372036854775808.0) {
    return 1;
  }
  if (d >= 9223372036854775808.0) {
    return -1;
  }
  const double whole = std::trunc(d);
  const auto truncated = static_cast<std::int64_t>(whole);
  if (i != truncated) {
    return i < truncated ? -1 : 1;
  }
  return d > whole ? -1 : (d < whole ? 1 : 0);
}

int compareUintDouble(std::uint64_t u, double d) {
  if (d < 0) {
    return 1;
  }
  if (d >= 18446744073709551616.0) {
    return -1;
  }
  const double whole = std::trunc(d);
  const auto truncated = static_cast<std::uint64_t>(whole);
  if (u != truncated) {
    return u < truncated ? -1 : 1;
  }
  return d > whole ? -1 : 0;
}

template <typename T>
int sign(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

std::optional<int> compareNumbers(const Value& a, const Value& b) {
  using K = Value::Kind;
  if ((a.kind() == K::Double && std::isnan(a.asDouble())) ||
      (b.kind() == K::Double && std::isnan(b.asDouble()))) {
    return std::nullopt;
  }
  switch (a.kind()) {
    case K::Int:
      if (b.kind() == K::Int) {
        return sign(a.asInt(), b.asInt());
      }
      if (b.kind() == K::Uint) {
        return a.asInt() < 0 ? -1 : sign(static_cast<std::uint64_t>(a.asInt()), b.asUint());
      }
      return compareIntDouble(a.asInt(), b.asDouble());
    case K::Uint:
      if (b.kind() == K::Uint) {
        return sign(a.asUint(), b.asUint());
      }
      if (b.kind() == K::Int) {
        return b.asInt() < 0 ? 1 : sign(a.asUint(), static_cast<std::uint64_t>(b.asInt()));
      }
      return compareUintDouble(a.asUint(), b.asDouble());
    default:
      if (b.kind() == K::Double) {
        return sign(a.asDouble(), b.asDouble());
      }
      if (b.kind() == K::Int) {
        return -compareIntDouble(b.asInt(), a.asDouble());
      }
      return -compareUintDouble(b.asUint(), a.asDouble());
  }
}

void appendQuoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
}

}  // namespace

Value Value::fromJson(const json& value, const json* schema) {
  switch (value.type()) {
    case json::value_t::boolean:
      return boolean(value.get<bool>());
    case json::value_t::number_integer:
      return isNumberSchema(schema) ? floating(value.get<double>()) : integer(value.get<std::int64_t>());
    case json::value_t::number_unsigned: {
      // nlohmann reads every non-negative integer as unsigned; JSON has no uint, CEL calls them int.
      const auto u = value.get<std::uint64_t>();
      if (isNumberSchema(schema)) {
        return floating(static_cast<double>(u));
      }
      return u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? integer(static_cast<std::int64_t>(u))
                 : unsignedInteger(u);
    }
    case json::value_t::number_float:
      return floating(value.get<double>());
    case json::value_t::string:
      return string(value.get<std::string>());
    case json::value_t::array: {
      ValueList items;
      items.reserve(value.size());
      const json* itemSchema = childSchema(schema, "items");
      for (const auto& item : value) {
        items.push_back(fromJson(item, itemSchema));
      }
      return list(std::move(items));
    }
    case json::value_t::object: {
      ValueMap entries;
      entries.reserve(value.size());
      for (const auto& [key, item] : value.items()) {
        entries.emplace_back(string(key), fromJson(item, propertySchema(schema, key)));
      }
      return map(std::move(entries));
    }
    default:
      return Value();
  }
}

json Value::toJson() const {
  switch (kind_) {
    case Kind::Null:
    case Kind::Error:
      return nullptr;
    case Kind::Bool:
      return asBool();
    case Kind::Int:
      return asInt();
    case Kind::Uint:
      return asUint();
    case Kind::Double:
      return asDouble();
    case Kind::String:
      return asString();
    case Kind::List: {
      json out = json::array();
      for (const auto& item : asList()) {
        out.push_back(item.toJson());
      }
      return out;
    }
    case Kind::Map: {
      json out = json::object();
      for (const auto& [key, item] : asMap()) {
        out[key.kind() == Kind::String ? key.asString() : key.debugString()] = item.toJson();
      }
      return out;
    }
  }
  return nullptr;
}

const Value* Value::find(const Value& key) const {
  for (const auto& [k, v] : asMap()) {
    if (equals(k, key)) {
      return &v;
    }
  }
  return nullptr;
}

std::string Value::typeName() const {
  switch (kind_) {
    case Kind::Null:
      return "null_type";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Uint:
      return "uint";
    case Kind::Double:
      return "double";
    case Kind::String:
      return "string";
    case Kind::List:
      return "list";
    case Kind::Map:
      return "map";
    case Kind::Error:
      return "error";
  }
  return "unknown";
}

std::string Value::debugString() const {
  std::string out;
  switch (kind_) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return asBool() ? "true" : "false";
    case Kind::Int:
      return std::to_string(asInt());
    case Kind::Uint:
      return std::to_string(asUint()) + "u";
    case Kind::Double:
      return toJson().dump();
    case Kind::String:
      appendQuoted(out, asString());
      return out;
    case Kind::Error:
      return "error(" + asString() + ")";
    case Kind::List:
      out = "[";
      for (const auto& item : asList()) {
        out += (out.size() > 1 ? ", " : "") + item.debugString();
      }
      return out + "]";
    case Kind::Map:
      out = "{";
      for (const auto& [key, item] : asMap()) {
        out += (out.size() > 1 ? ", " : "") + key.debugString() + ": " + item.debugString();
      }
      return out + "}";
  }
  return out;
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.isNumber() && b.isNumber()) {
    auto order = compareNumbers(a, b);
    return order && *order == 0;
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  switch (a.kind()) {
    case K::Null:
      return true;
    case K::Bool:
      return a.asBool() == b.asBool();
    case K::String:
    case K::Error:
      return a.asString() == b.asString();
    case K::List: {
      const ValueList& x = a.asList();
      const ValueList& y = b.asList();
      if (x.size() != y.size()) {
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!equals(x[i], y[i])) {
          return false;
        }
      }
      return true;
    }
    case K::Map: {
      if (a.asMap().size() != b.asMap().size()) {
        return false;
      }
      for (const auto& [key, item] : a.asMap()) {
        const Value* other = b.find(key);
        if (other == nullptr || !equals(item, *other)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

std::optional<int> compare(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.isNumber() && b.isNumber()) {
    return compareNumbers(a, b);
  }
  if (a.kind() != b.kind()) {
    return std::nullopt;
  }
  if (a.kind() == K::String) {
    // Byte order of UTF-8 is code point order, which is CEL's string order.
    const int c = a.asString().compare(b.asString());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind() == K::Bool) {
    return sign(a.asBool(), b.asBool());
  }
  return std::nullopt;
}

std::string formatDouble(double d, int exponentThreshold) {
  if (std::isnan(d)) {
    return "NaN";
  }
  if (std::isinf(d)) {
    return d > 0 ? "+Inf" : "-Inf";
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), d, std::chars_format::scientific);
  const std::string scientific(buffer, result.ptr);  // e.g. -1.2345e+06, shortest round trip
  const std::size_t e = scientific.find('e');
  std::string mantissa = scientific.substr(0, e);
  const int exponent = std::stoi(scientific.substr(e + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) {
    mantissa.erase(0, 1);
  }
  std::string digits = mantissa.substr(0, 1) + (mantissa.size() > 2 ? mantissa.substr(2) : "");
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= exponentThreshold) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += "." + digits.substr(1);
    }
    const int magnitude = exponent < 0 ? -exponent : exponent;
    out += std::string(exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else {
    const auto point = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= point) {
      out += digits + std::string(point - digits.size(), '0');
    } else {
      out += digits.substr(0, point) + "." + digits.substr(point);
    }
  }
  return out;
}

}  // namespace virtsnap::apiserver::cel
