#pragma once
// A subset of CEL (the Common Expression Language), enough for CRD x-kubernetes-validations rules:
// - literals: int (decimal, hex), uint (1u), double, string ('', "", triple-quoted, raw r''), bool, null,
//   lists [..] and maps {k: v};
// - variables self and oldSelf, field selection a.b, indexing a[0] and a['k'], has(a.b);
// - operators ! - * / % + - < <= > >= == != in && || ?: with CEL's semantics: && and || are commutative and
//   absorb errors (false && error is false), == across unrelated types is false (numbers compare by value),
//   int arithmetic is checked for overflow, selecting an absent field is an error ("no such key");
// - macros all, exists, exists_one, map (2 and 3 arguments), filter over lists and map keys;
// - functions size, matches, startsWith, endsWith, contains, string, int, uint, double, bool, dyn and from
//   Kubernetes' string library lowerAscii, upperAscii, trim, indexOf, lastIndexOf, split, join, replace,
//   substring.
// Not supported: bytes, timestamps and durations, optionals (?.), type(), protobuf messages, the
// static type checker (type errors are found at evaluation, as "no such overload") and cost limits.
// Parse errors and evaluation errors are values; nothing throws.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/expected.h"
#include "controller/apiserver/cel/ast.h"
#include "controller/apiserver/cel/value.h"

namespace virtsnap::apiserver::cel {

// The variables an expression reads, by name.
using Activation = std::map<std::string, Value, std::less<>>;

class Program {
 public:
  Program(std::string source, NodePtr root, std::set<std::string, std::less<>> variables);

  const std::string& source() const { return source_; }
  // Whether the expression reads `variable`, e.g. oldSelf for a transition rule.
  bool references(std::string_view variable) const { return variables_.count(variable) != 0; }
  // The result, or a value of kind Error. A variable the activation lacks is an error.
  Value evaluate(const Activation& activation) const;

 private:
  std::string source_;
  NodePtr root_;
  std::set<std::string, std::less<>> variables_;
};

// Parses `source` and checks that it reads only `self` and `oldSelf` and calls only known functions.
// Programs (and errors) are cached by source text, so each rule is parsed once per process.
Expected<std::shared_ptr<const Program>, std::string> compile(const std::string& source);

}  // namespace virtsnap::apiserver::cel
