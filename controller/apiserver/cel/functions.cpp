#include "controller/apiserver/cel/functions.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "controller/apiserver/cel/regex.h"

namespace virtsnap::apiserver::cel {

namespace {

using K = Value::Kind;

const std::set<std::string, std::less<>> kGlobal = {"size", "matches", "string", "int",
                                                    "uint", "double",  "bool",   "dyn"};
const std::set<std::string, std::less<>> kReceiver = {
    "size", "matches", "startsWith",  "endsWith", "contains", "lowerAscii", "upperAscii",
    "trim", "indexOf", "lastIndexOf", "split",    "join",     "replace",    "substring"};

bool is(const std::vector<Value>& args, std::initializer_list<K> kinds) {
  if (args.size() != kinds.size()) {
    return false;
  }
  std::size_t i = 0;
  for (K kind : kinds) {
    if (args[i++].kind() != kind) {
      return false;
    }
  }
  return true;
}

// Code points of UTF-8 text: CEL strings are sequences of code points, not bytes.
std::vector<std::size_t> codePointOffsets(const std::string& s) {
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      offsets.push_back(i);
    }
  }
  return offsets;
}

std::int64_t codePointIndex(const std::string& s, std::size_t byteOffset) {
  const auto offsets = codePointOffsets(s.substr(0, byteOffset));
  return static_cast<std::int64_t>(offsets.size());
}

Value size(const Value& v) {
  switch (v.kind()) {
    case K::String:
      return Value::integer(static_cast<std::int64_t>(codePointOffsets(v.asString()).size()));
    case K::List:
      return Value::integer(static_cast<std::int64_t>(v.asList().size()));
    case K::Map:
      return Value::integer(static_cast<std::int64_t>(v.asMap().size()));
    default:
      return Value::noSuchOverload();
  }
}

Value matches(const Value& text, const Value& pattern) {
  if (text.kind() != K::String || pattern.kind() != K::String) {
    return Value::noSuchOverload();
  }
  auto regex = compileRegex(pattern.asString());
  if (!regex) {
    return Value::error("invalid regular expression '" + pattern.asString() + "': " + regex.error());
  }
  return Value::boolean(regexSearch(*regex.value(), text.asString()));
}

Value toInt(const Value& v) {
  switch (v.kind()) {
    case K::Int:
      return v;
    case K::Uint:
      if (v.asUint() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value::error("integer overflow");
      }
      return Value::integer(static_cast<std::int64_t>(v.asUint()));
    case K::Double: {
      const double d = v.asDouble();
      if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return Value::error("range error converting " + formatDouble(d, 6) + " to int");
      }
      return Value::integer(static_cast<std::int64_t>(d));
    }
    case K::String: {
      const std::string& s = v.asString();
      char* end = nullptr;
      errno = 0;
      const long long i = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE ||
          std::isspace(static_cast<unsigned char>(s[0]))) {
        return Value::error("cannot convert string \"" + s + "\" to int");
      }
      return Value::integer(i);
    }
    default:
      return Value::noSuchOverload();
  }
}

Value toUint(const Value& v) {
  switch (v.kind()) {
    case K::Uint:
      return v;
    case K::Int:
      if (v.asInt() < 0) {
        return Value::error("unsigned integer overflow");
      }
      return Value::unsignedInteger(static_cast<std::uint64_t>(v.asInt()));
    case K::Double: {
      const double d = v.asDouble();
      if (!(d > -1.0 && d < 18446744073709551616.0)) {
        return Value::error("range error converting " + formatDouble(d, 6) + " to uint");
      }
      return Value::unsignedInteger(static_cast<std::uint64_t>(d));
    }
    case K::String: {
      const std::string& s = v.asString();
      char* end = nullptr;
      errno = 0;
      const unsigned long long u = std::strtoull(s.c_str(), &end, 10);
      if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || s[0] == '-' || s[0] == '+' ||
          std::isspace(static_cast<unsigned char>(s[0]))) {
        return Value::error("cannot convert string \"" + s + "\" to uint");
      }
      return Value::unsignedInteger(u);
    }
    default:
      return Value::noSuchOverload();
  }
}

Value toDouble(const Value& v) {
  switch (v.kind()) {
    case K::Double:
      return v;
    case K::Int:
      return Value::floating(static_cast<double>(v.asInt()));
    case K::Uint:
      return Value::floating(static_cast<double>(v.asUint()));
    case K::String: {
      const std::string& s = v.asString();
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || std::isspace(static_cast<unsigned char>(s[0]))) {
        return Value::error("cannot convert string \"" + s + "\" to double");
      }
      return Value::floating(d);
    }
    default:
      return Value::noSuchOverload();
  }
}

Value toString(const Value& v) {
  switch (v.kind()) {
    case K::String:
      return v;
    case K::Bool:
      return Value::string(v.asBool() ? "true" : "false");
    case K::Int:
      return Value::string(std::to_string(v.asInt()));
    case K::Uint:
      return Value::string(std::to_string(v.asUint()));
    case K::Double:
      return Value::string(formatDouble(v.asDouble(), 6));
    default:
      return Value::noSuchOverload();
  }
}

Value toBool(const Value& v) {
  if (v.kind() == K::Bool) {
    return v;
  }
  if (v.kind() != K::String) {
    return Value::noSuchOverload();
  }
  static const std::set<std::string, std::less<>> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string, std::less<>> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(v.asString()) != 0) {
    return Value::boolean(true);
  }
  if (kFalse.count(v.asString()) != 0) {
    return Value::boolean(false);
  }
  return Value::error("cannot convert string \"" + v.asString() + "\" to bool");
}

Value caseAscii(const std::string& s, bool upper) {
  std::string out = s;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (!upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return Value::string(out);
}

Value trim(const std::string& s) {
  const char* const kSpace = " \t\n\v\f\r";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string::npos) {
    return Value::string("");
  }
  return Value::string(s.substr(first, s.find_last_not_of(kSpace) - first + 1));
}

Value split(const std::string& s, const std::string& separator) {
  ValueList parts;
  if (separator.empty()) {  // Go's strings.Split: one part per code point
    const auto offsets = codePointOffsets(s);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      const std::size_t end = i + 1 < offsets.size() ? offsets[i + 1] : s.size();
      parts.push_back(Value::string(s.substr(offsets[i], end - offsets[i])));
    }
    return Value::list(std::move(parts));
  }
  std::size_t start = 0;
  for (std::size_t at = s.find(separator); at != std::string::npos; at = s.find(separator, start)) {
    parts.push_back(Value::string(s.substr(start, at - start)));
    start = at + separator.size();
  }
  parts.push_back(Value::string(s.substr(start)));
  return Value::list(std::move(parts));
}

Value join(const ValueList& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].kind() != K::String) {
      return Value::noSuchOverload();
    }
    out += (i == 0 ? "" : separator) + items[i].asString();
  }
  return Value::string(out);
}

Value replace(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) {
    return Value::string(s);
  }
  std::string out;
  std::size_t start = 0;
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, start)) {
    out += s.substr(start, at - start) + to;
    start = at + from.size();
  }
  return Value::string(out + s.substr(start));
}

Value substring(const std::string& s, std::int64_t begin, std::int64_t end) {
  const auto offsets = codePointOffsets(s);
  const auto count = static_cast<std::int64_t>(offsets.size());
  if (begin < 0 || begin > count) {
    return Value::error("index out of range: " + std::to_string(begin));
  }
  if (end < begin || end > count) {
    return Value::error("index out of range: " + std::to_string(end));
  }
  const std::size_t from = begin == count ? s.size() : offsets[static_cast<std::size_t>(begin)];
  const std::size_t to = end == count ? s.size() : offsets[static_cast<std::size_t>(end)];
  return Value::string(s.substr(from, to - from));
}

Value stringMethod(const std::string& name, const std::vector<Value>& args) {
  const std::string& s = args[0].asString();
  if (name == "startsWith" && is(args, {K::String, K::String})) {
    return Value::boolean(s.compare(0, args[1].asString().size(), args[1].asString()) == 0 &&
                          s.size() >= args[1].asString().size());
  }
  if (name == "endsWith" && is(args, {K::String, K::String})) {
    const std::string& suffix = args[1].asString();
    return Value::boolean(s.size() >= suffix.size() &&
                          s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0);
  }
  if (name == "contains" && is(args, {K::String, K::String})) {
    return Value::boolean(s.find(args[1].asString()) != std::string::npos);
  }
  if ((name == "lowerAscii" || name == "upperAscii") && args.size() == 1) {
    return caseAscii(s, name == "upperAscii");
  }
  if (name == "trim" && args.size() == 1) {
    return trim(s);
  }
  if (name == "indexOf" && is(args, {K::String, K::String})) {
    const std::size_t at = s.find(args[1].asString());
    return Value::integer(at == std::string::npos ? -1 : codePointIndex(s, at));
  }
  if (name == "lastIndexOf" && is(args, {K::String, K::String})) {
    const std::size_t at = s.rfind(args[1].asString());
    return Value::integer(at == std::string::npos ? -1 : codePointIndex(s, at));
  }
  if (name == "split" && is(args, {K::String, K::String})) {
    return split(s, args[1].asString());
  }
  if (name == "replace" && is(args, {K::String, K::String, K::String})) {
    return replace(s, args[1].asString(), args[2].asString());
  }
  if (name == "substring" && is(args, {K::String, K::Int})) {
    return substring(s, args[1].asInt(), static_cast<std::int64_t>(codePointOffsets(s).size()));
  }
  if (name == "substring" && is(args, {K::String, K::Int, K::Int})) {
    return substring(s, args[1].asInt(), args[2].asInt());
  }
  return Value::noSuchOverload();
}

template <typename T>
Value checked(bool overflow, T result, bool isUnsigned) {
  if (overflow) {
    return Value::error(isUnsigned ? "unsigned integer overflow" : "integer overflow");
  }
  if constexpr (std::is_same_v<T, std::uint64_t>) {
    return Value::unsignedInteger(result);
  } else {
    return Value::integer(result);
  }
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (a.kind() == K::Int && b.kind() == K::Int) {
    const std::int64_t x = a.asInt();
    const std::int64_t y = b.asInt();
    std::int64_t r = 0;
    if (op == "+") {
      {
        const bool overflow = __builtin_add_overflow(x, y, &r);
        return checked(overflow, r, false);
      }
    }
    if (op == "-") {
      {
        const bool overflow = __builtin_sub_overflow(x, y, &r);
        return checked(overflow, r, false);
      }
    }
    if (op == "*") {
      {
        const bool overflow = __builtin_mul_overflow(x, y, &r);
        return checked(overflow, r, false);
      }
    }
    if (y == 0) {
      return Value::error(op == "/" ? "division by zero" : "modulus by zero");
    }
    if (x == std::numeric_limits<std::int64_t>::min() && y == -1) {
      return Value::error("integer overflow");
    }
    return Value::integer(op == "/" ? x / y : x % y);
  }
  if (a.kind() == K::Uint && b.kind() == K::Uint) {
    const std::uint64_t x = a.asUint();
    const std::uint64_t y = b.asUint();
    std::uint64_t r = 0;
    if (op == "+") {
      {
        const bool overflow = __builtin_add_overflow(x, y, &r);
        return checked(overflow, r, true);
      }
    }
    if (op == "-") {
      {
        const bool overflow = __builtin_sub_overflow(x, y, &r);
        return checked(overflow, r, true);
      }
    }
    if (op == "*") {
      {
        const bool overflow = __builtin_mul_overflow(x, y, &r);
        return checked(overflow, r, true);
      }
    }
    if (y == 0) {
      return Value::error(op == "/" ? "division by zero" : "modulus by zero");
    }
    return Value::unsignedInteger(op == "/" ? x / y : x % y);
  }
  if (a.kind() == K::Double && b.kind() == K::Double && op != "%") {
    const double x = a.asDouble();
    const double y = b.asDouble();
    return Value::floating(op == "+" ? x + y : op == "-" ? x - y : op == "*" ? x * y : x / y);
  }
  if (op == "+" && a.kind() == K::String && b.kind() == K::String) {
    return Value::string(a.asString() + b.asString());
  }
  if (op == "+" && a.kind() == K::List && b.kind() == K::List) {
    ValueList joined = a.asList();
    joined.insert(joined.end(), b.asList().begin(), b.asList().end());
    return Value::list(std::move(joined));
  }
  return Value::noSuchOverload();
}

}  // namespace

bool isKnownFunction(std::string_view name, bool receiverStyle) {
  return receiverStyle ? kReceiver.count(name) != 0 : kGlobal.count(name) != 0;
}

Value callFunction(const std::string& name, bool receiverStyle, const std::vector<Value>& args) {
  for (const auto& arg : args) {
    if (arg.isError()) {
      return arg;
    }
  }
  if (args.size() == 1) {
    if (name == "size") {
      return size(args[0]);
    }
    if (!receiverStyle) {
      if (name == "int") {
        return toInt(args[0]);
      }
      if (name == "uint") {
        return toUint(args[0]);
      }
      if (name == "double") {
        return toDouble(args[0]);
      }
      if (name == "string") {
        return toString(args[0]);
      }
      if (name == "bool") {
        return toBool(args[0]);
      }
      if (name == "dyn") {
        return args[0];
      }
    }
  }
  if (name == "matches" && args.size() == 2) {
    return matches(args[0], args[1]);
  }
  if (receiverStyle && name == "join" && !args.empty() && args[0].kind() == K::List) {
    if (args.size() == 1) {
      return join(args[0].asList(), "");
    }
    if (args.size() == 2 && args[1].kind() == K::String) {
      return join(args[0].asList(), args[1].asString());
    }
  }
  if (receiverStyle && !args.empty() && args[0].kind() == K::String) {
    return stringMethod(name, args);
  }
  return Value::noSuchOverload();
}

Value applyBinary(const std::string& op, const Value& left, const Value& right) {
  if (left.isError()) {
    return left;
  }
  if (right.isError()) {
    return right;
  }
  if (op == "==" || op == "!=") {
    return Value::boolean(equals(left, right) == (op == "=="));
  }
  if (op == "<" || op == "<=" || op == ">" || op == ">=") {
    const auto order = compare(left, right);
    if (!order) {
      return Value::noSuchOverload();
    }
    const int c = *order;
    return Value::boolean(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
  }
  if (op == "in") {
    if (right.kind() == K::List) {
      for (const auto& item : right.asList()) {
        if (equals(left, item)) {
          return Value::boolean(true);
        }
      }
      return Value::boolean(false);
    }
    if (right.kind() == K::Map) {
      return Value::boolean(right.find(left) != nullptr);
    }
    return Value::noSuchOverload();
  }
  return arithmetic(op, left, right);
}

Value applyUnary(const std::string& op, const Value& operand) {
  if (operand.isError()) {
    return operand;
  }
  if (op == "!" && operand.kind() == K::Bool) {
    return Value::boolean(!operand.asBool());
  }
  if (op == "-" && operand.kind() == K::Int) {
    if (operand.asInt() == std::numeric_limits<std::int64_t>::min()) {
      return Value::error("integer overflow");
    }
    return Value::integer(-operand.asInt());
  }
  if (op == "-" && operand.kind() == K::Double) {
    return Value::floating(-operand.asDouble());
  }
  return Value::noSuchOverload();
}

}  // namespace virtsnap::apiserver::cel
