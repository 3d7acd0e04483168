#pragma once
// A CEL value: the runtime data of the CEL subset (cel.h). Errors are values too (CEL's error type), so that
// && and || can absorb them and nothing ever throws out of an evaluation.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::apiserver::cel {

class Value;
using ValueList = std::vector<Value>;
using ValueMap = std::vector<std::pair<Value, Value>>;  // in insertion order; keys are unique by CEL equality

class Value {
 public:
  enum class Kind { Null, Bool, Int, Uint, Double, String, List, Map, Error };

  Value() = default;
  static Value boolean(bool b) { return Value(Kind::Bool, b); }
  static Value integer(std::int64_t i) { return Value(Kind::Int, i); }
  static Value unsignedInteger(std::uint64_t u) { return Value(Kind::Uint, u); }
  static Value floating(double d) { return Value(Kind::Double, d); }
  static Value string(std::string s) { return Value(Kind::String, std::move(s)); }
  static Value list(ValueList items) {
    return Value(Kind::List, std::make_shared<const ValueList>(std::move(items)));
  }
  static Value map(ValueMap entries) {
    return Value(Kind::Map, std::make_shared<const ValueMap>(std::move(entries)));
  }
  static Value error(std::string message) { return Value(Kind::Error, std::move(message)); }
  static Value noSuchOverload() { return error("no such overload"); }

  // A JSON value as CEL sees it. With a (structural) schema, integers of a `type: number` node are doubles,
  // as kube-apiserver types them; without one every JSON integer is a CEL int.
  static Value fromJson(const nlohmann::json& json, const nlohmann::json* schema = nullptr);
  nlohmann::json toJson() const;

  Kind kind() const { return kind_; }
  bool isError() const { return kind_ == Kind::Error; }
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Uint || kind_ == Kind::Double; }

  bool asBool() const { return std::get<bool>(data_); }
  std::int64_t asInt() const { return std::get<std::int64_t>(data_); }
  std::uint64_t asUint() const { return std::get<std::uint64_t>(data_); }
  double asDouble() const { return std::get<double>(data_); }
  const std::string& asString() const { return std::get<std::string>(data_); }  // also an error's message
  const ValueList& asList() const { return *std::get<std::shared_ptr<const ValueList>>(data_); }
  const ValueMap& asMap() const { return *std::get<std::shared_ptr<const ValueMap>>(data_); }

  // The entry of a map under `key`, or nullptr.
  const Value* find(const Value& key) const;

  // CEL's name of the value's type: null_type, bool, int, uint, double, string, list, map.
  std::string typeName() const;
  // For error messages: strings quoted, lists and maps as CEL literals.
  std::string debugString() const;

 private:
  using Data = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string,
                            std::shared_ptr<const ValueList>, std::shared_ptr<const ValueMap>>;
  template <typename T>
  Value(Kind kind, T data) : kind_(kind), data_(std::move(data)) {}

  Kind kind_ = Kind::Null;
  Data data_;
};

// CEL heterogeneous equality: numbers compare by value across int, uint and double; values of other
// different types are unequal (never an error); lists and maps compare deeply.
bool equals(const Value& a, const Value& b);

// CEL ordering (numbers across types, strings, bools): -1, 0, 1, or nullopt when there is no overload (or a
// NaN is involved).
std::optional<int> compare(const Value& a, const Value& b);

// A double as Go prints it: the shortest digits that read back the same, in exponent form when the decimal
// exponent is below -4 or at least `exponentThreshold` (6 for strconv 'g', which CEL's string() uses; 21 for
// fmt's %v, which Kubernetes' error messages use).
std::string formatDouble(double d, int exponentThreshold);

}  // namespace virtsnap::apiserver::cel
