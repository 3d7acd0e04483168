// The CEL subset (controller/apiserver/cel.h): every operator, macro and function, CEL's error semantics,
// and every x-kubernetes-validations rule of crds/*.yaml with inputs that pass and inputs that fail.

#include "controller/apiserver/cel/cel.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/apiserver/resource_registry.h"
#include "tests/support/crd_registry.h"

namespace virtsnap::apiserver::cel {
namespace {

using nlohmann::json;

Value run(const std::string& expression, const json& self = nullptr, const json* oldSelf = nullptr) {
  auto program = compile(expression);
  if (!program) {
    return Value::error("compile: " + program.error());
  }
  Activation activation;
  activation.emplace("self", Value::fromJson(self));
  if (oldSelf != nullptr) {
    activation.emplace("oldSelf", Value::fromJson(*oldSelf));
  }
  return program.value()->evaluate(activation);
}

// The result as JSON, or "error: <message>" for an error value.
json eval(const std::string& expression, const json& self = nullptr) {
  const Value v = run(expression, self);
  return v.isError() ? json("error: " + v.asString()) : v.toJson();
}

std::string errorOf(const std::string& expression, const json& self = nullptr) {
  const Value v = run(expression, self);
  return v.isError() ? v.asString() : "no error, got " + v.debugString();
}

std::string compileError(const std::string& expression) {
  auto program = compile(expression);
  return program ? "compiled" : program.error();
}

TEST(CelLiterals, IntsUintsDoublesStringsBoolsNull) {
  EXPECT_EQ(eval("42"), 42);
  EXPECT_EQ(eval("0x1F"), 31);
  EXPECT_EQ(eval("-9223372036854775808"), json(INT64_MIN));
  EXPECT_EQ(run("7u").kind(), Value::Kind::Uint);
  EXPECT_EQ(run("7u").asUint(), 7u);
  EXPECT_DOUBLE_EQ(eval("2.5").get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(eval("1e3").get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(eval(".5").get<double>(), 0.5);
  EXPECT_EQ(eval("'single'"), "single");
  EXPECT_EQ(eval("\"double\""), "double");
  EXPECT_EQ(eval("'''triple 'quoted' '''"), "triple 'quoted' ");
  EXPECT_EQ(eval("r'\\d+'"), "\\d+");
  EXPECT_EQ(eval("'a\\n\\t\\'\\\\\\x41\\u00e9\\101'"),
            "a\n\t'\\A\xC3\xA9"
            "A");
  EXPECT_EQ(eval("true"), true);
  EXPECT_EQ(eval("false"), false);
  EXPECT_EQ(eval("null"), nullptr);
  EXPECT_EQ(eval("[1, 'a', [true]]"), json::parse(R"([1, "a", [true]])"));
  EXPECT_EQ(eval("[1, 2,]"), json::parse("[1, 2]"));
  EXPECT_EQ(eval("{'a': 1, 'b': {'c': null}}"), json::parse(R"({"a": 1, "b": {"c": null}})"));
  EXPECT_EQ(eval("// a comment\n 1 + 1"), 2);
}

TEST(CelSyntax, ErrorsAreValuesWithPositions) {
  EXPECT_NE(compileError("1 +").find("Syntax error"), std::string::npos);
  EXPECT_NE(compileError("(1").find("expected ')'"), std::string::npos);
  EXPECT_NE(compileError("'unterminated").find("unterminated string"), std::string::npos);
  EXPECT_NE(compileError("1 # 2").find("<input>:1:3"), std::string::npos);
  EXPECT_NE(compileError("9223372036854775808").find("out of range"), std::string::npos);
  EXPECT_NE(compileError("'\\q'").find("invalid escape"), std::string::npos);
  EXPECT_NE(compileError("self.if").find("reserved"), std::string::npos);
  EXPECT_NE(compileError("has(self)").find("invalid argument to has() macro"), std::string::npos);
  EXPECT_NE(compileError("self.all(x.y, true)").find("simple name"), std::string::npos);
  EXPECT_NE(compileError("b'bytes'").find("bytes"), std::string::npos);
  EXPECT_NE(compileError("").find("unexpected end of input"), std::string::npos);
  EXPECT_NE(compileError("1 2").find("unexpected"), std::string::npos);
}

TEST(CelSyntax, UndeclaredNamesAndFunctionsAreCompileErrors) {
  EXPECT_EQ(compileError("other == 1"), "ERROR: <input>: undeclared reference to 'other'");
  EXPECT_EQ(compileError("frobnicate(self)"), "ERROR: <input>: undeclared reference to 'frobnicate'");
  EXPECT_EQ(compileError("self.frobnicate()"), "ERROR: <input>: undeclared reference to 'frobnicate'");
  EXPECT_EQ(compileError("self.all(x, x > 0)"), "compiled");
  EXPECT_EQ(compileError("self.all(x, y > 0)"), "ERROR: <input>: undeclared reference to 'y'");
}

TEST(CelSyntax, HostileNestingIsRefusedNotACrash) {
  const std::string deep = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_NE(compileError(deep).find("nesting exceeds"), std::string::npos);
  const std::string negations(100000, '!');
  EXPECT_NE(compileError(negations + "true").find("nesting exceeds"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 100000; ++i) {
    chain += " + 1";
  }
  EXPECT_NE(compileError(chain).find("nesting exceeds"), std::string::npos);
  std::string longButFine = "1";
  for (int i = 0; i < 500; ++i) {
    longButFine += " + 1";
  }
  EXPECT_EQ(eval(longButFine), 501);
}

TEST(CelSyntax, ProgramsAreCachedBySource) {
  auto first = compile("self.a == 1");
  auto second = compile("self.a == 1");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first.value().get(), second.value().get());
  EXPECT_TRUE(first.value()->references("self"));
  EXPECT_FALSE(first.value()->references("oldSelf"));
  EXPECT_TRUE(compile("self == oldSelf").value()->references("oldSelf"));
}

TEST(CelArithmetic, IntUintDoubleStringList) {
  EXPECT_EQ(eval("1 + 2 * 3 - 4 / 2 % 3"), 5);
  EXPECT_EQ(eval("-7 / 2"), -3);
  EXPECT_EQ(eval("-7 % 3"), -1);
  EXPECT_EQ(eval("--3"), 3);
  EXPECT_EQ(eval("10u - 3u"), 7u);
  EXPECT_DOUBLE_EQ(eval("1.5 * 2.0").get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(eval("-(1.5)").get<double>(), -1.5);
  EXPECT_EQ(eval("'ab' + 'cd'"), "abcd");
  EXPECT_EQ(eval("[1] + [2, 3]"), json::parse("[1, 2, 3]"));
  EXPECT_EQ(eval("(1 + 2) * 3"), 9);
}

TEST(CelArithmetic, ErrorsAreValues) {
  EXPECT_EQ(errorOf("1 / 0"), "division by zero");
  EXPECT_EQ(errorOf("1 % 0"), "modulus by zero");
  EXPECT_EQ(errorOf("9223372036854775807 + 1"), "integer overflow");
  EXPECT_EQ(errorOf("-9223372036854775808 - 1"), "integer overflow");
  EXPECT_EQ(errorOf("-9223372036854775808 / -1"), "integer overflow");
  EXPECT_EQ(errorOf("4611686018427387904 * 2"), "integer overflow");
  EXPECT_EQ(errorOf("1u - 2u"), "unsigned integer overflow");
  EXPECT_EQ(errorOf("1 + 1.0"), "no such overload");
  EXPECT_EQ(errorOf("1 + 1u"), "no such overload");
  EXPECT_EQ(errorOf("'a' + 1"), "no such overload");
  EXPECT_EQ(errorOf("-'a'"), "no such overload");
  EXPECT_EQ(errorOf("!1"), "no such overload");
  EXPECT_EQ(errorOf("1.0 % 2.0"), "no such overload");
}

TEST(CelComparison, EqualityIsHeterogeneousAndNeverAnError) {
  EXPECT_EQ(eval("1 == 1.0"), true);
  EXPECT_EQ(eval("1 == 1u"), true);
  EXPECT_EQ(eval("-1 == 18446744073709551615u"), false);
  EXPECT_EQ(eval("1 == '1'"), false);
  EXPECT_EQ(eval("'a' != 1"), true);
  EXPECT_EQ(eval("null == null"), true);
  EXPECT_EQ(eval("null == 0"), false);
  EXPECT_EQ(eval("[1, 'a'] == [1.0, 'a']"), true);
  EXPECT_EQ(eval("[1] == [1, 2]"), false);
  EXPECT_EQ(eval("{'a': 1, 'b': 2} == {'b': 2, 'a': 1}"), true);
  EXPECT_EQ(eval("{'a': 1} == {'a': 2}"), false);
  EXPECT_EQ(eval("self == {'x': [1, 2]}", json::parse(R"({"x": [1, 2]})")), true);
}

TEST(CelComparison, Ordering) {
  EXPECT_EQ(eval("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3"), true);
  EXPECT_EQ(eval("1 < 1.5 && 2u > 1 && -1 < 0u"), true);
  EXPECT_EQ(eval("'abc' < 'abd' && 'b' > 'abc'"), true);
  EXPECT_EQ(eval("false < true"), true);
  EXPECT_EQ(errorOf("1 < 'a'"), "no such overload");
  EXPECT_EQ(errorOf("[1] < [2]"), "no such overload");
}

TEST(CelOperators, InOverListsAndMaps) {
  EXPECT_EQ(eval("2 in [1, 2, 3]"), true);
  EXPECT_EQ(eval("2.0 in [1, 2]"), true);
  EXPECT_EQ(eval("'z' in ['a']"), false);
  EXPECT_EQ(eval("'a' in {'a': 1}"), true);
  EXPECT_EQ(eval("'b' in self", json::parse(R"({"a": 1})")), false);
  EXPECT_EQ(errorOf("1 in 'abc'"), "no such overload");
}

TEST(CelLogic, ShortCircuitAndErrorAbsorption) {
  EXPECT_EQ(eval("true && true"), true);
  EXPECT_EQ(eval("true && false"), false);
  EXPECT_EQ(eval("false || true"), true);
  EXPECT_EQ(eval("false || false"), false);
  // Commutative: the absorbing value wins over an error on either side.
  EXPECT_EQ(eval("false && 1 / 0 == 1"), false);
  EXPECT_EQ(eval("1 / 0 == 1 && false"), false);
  EXPECT_EQ(eval("true || self.missing"), true);
  EXPECT_EQ(eval("self.missing || true", json::object()), true);
  EXPECT_EQ(errorOf("self.missing && true", json::object()), "no such key: missing");
  EXPECT_EQ(errorOf("false || 1 / 0 == 1"), "division by zero");
  EXPECT_EQ(errorOf("1 && true"), "no such overload");
  EXPECT_EQ(eval("!false"), true);
  EXPECT_EQ(eval("!!true"), true);
}

TEST(CelLogic, Conditional) {
  EXPECT_EQ(eval("true ? 1 : 2"), 1);
  EXPECT_EQ(eval("false ? 1 : 2"), 2);
  EXPECT_EQ(eval("1 > 2 ? 'a' : 2 > 1 ? 'b' : 'c'"), "b");
  EXPECT_EQ(eval("true ? 1 : 1 / 0"), 1);  // the other branch is not evaluated
  EXPECT_EQ(errorOf("1 ? 1 : 2"), "no such overload");
  EXPECT_EQ(errorOf("1 / 0 == 0 ? 1 : 2"), "division by zero");
}

TEST(CelSelection, FieldsIndexesAndHas) {
  const json self = json::parse(R"({"spec": {"name": "a", "list": [10, 20], "map": {"k": "v"}, "n": null}})");
  EXPECT_EQ(eval("self.spec.name", self), "a");
  EXPECT_EQ(eval("self.spec.list[1]", self), 20);
  EXPECT_EQ(eval("self.spec.list[1u]", self), 20);
  EXPECT_EQ(eval("self.spec.map['k']", self), "v");
  EXPECT_EQ(eval("self['spec'].name", self), "a");
  EXPECT_EQ(eval("self.spec.n", self), nullptr);
  EXPECT_EQ(eval("has(self.spec.name)", self), true);
  EXPECT_EQ(eval("has(self.spec.other)", self), false);
  EXPECT_EQ(eval("has(self.spec.n)", self), true);
  EXPECT_EQ(eval("has(self.spec.map.k)", self), true);
  EXPECT_EQ(errorOf("self.spec.other", self), "no such key: other");
  EXPECT_EQ(errorOf("has(self.nope.deeper)", self), "no such key: nope");
  EXPECT_EQ(errorOf("self.spec.list[2]", self), "index out of bounds: 2");
  EXPECT_EQ(errorOf("self.spec.list[-1]", self), "index out of bounds: -1");
  EXPECT_EQ(errorOf("self.spec.map['x']", self), "no such key: x");
  EXPECT_EQ(errorOf("self.spec.list['a']", self), "no such overload");
  EXPECT_EQ(errorOf("self.spec.name.x", self), "no such overload");
  EXPECT_EQ(errorOf("has(self.spec.name.x)", self), "no such overload");
}

TEST(CelSelection, VariablesTheActivationLacksAreErrors) {
  auto program = compile("oldSelf == 1");
  ASSERT_TRUE(program);
  EXPECT_EQ(program.value()->evaluate({}).asString(), "no such attribute: oldSelf");
}

TEST(CelMacros, AllExistsExistsOne) {
  EXPECT_EQ(eval("[1, 2, 3].all(x, x > 0)"), true);
  EXPECT_EQ(eval("[1, 2, 3].all(x, x > 1)"), false);
  EXPECT_EQ(eval("[].all(x, x > 1)"), true);
  EXPECT_EQ(eval("[1, 2, 3].exists(x, x == 2)"), true);
  EXPECT_EQ(eval("[1, 2, 3].exists(x, x == 5)"), false);
  EXPECT_EQ(eval("[1, 2, 3].exists_one(x, x > 2)"), true);
  EXPECT_EQ(eval("[1, 2, 3].exists_one(x, x > 1)"), false);
  EXPECT_EQ(eval("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])"), true);
  EXPECT_EQ(eval("self.exists(k, k == 'b')", json::parse(R"({"a": 1, "b": 2})")), true);
  // all and exists absorb errors like && and ||.
  EXPECT_EQ(eval("[0, 1].all(x, 1 / x > 5)"), false);
  EXPECT_EQ(eval("[0, 1].exists(x, 1 / x == 1)"), true);
  EXPECT_EQ(errorOf("[0, 1].all(x, 1 / x == 1)"), "division by zero");
  EXPECT_EQ(errorOf("[0, 1].exists_one(x, 1 / x == 1)"), "division by zero");
  EXPECT_EQ(errorOf("[1].all(x, x)"), "no such overload");
  EXPECT_EQ(errorOf("1.all(x, true)"), "no such overload");
}

TEST(CelMacros, MapAndFilter) {
  EXPECT_EQ(eval("[1, 2, 3].map(x, x * 2)"), json::parse("[2, 4, 6]"));
  EXPECT_EQ(eval("[1, 2, 3].map(x, x > 1, x * 10)"), json::parse("[20, 30]"));
  EXPECT_EQ(eval("[1, 2, 3].filter(x, x % 2 == 1)"), json::parse("[1, 3]"));
  EXPECT_EQ(eval("{'a': 1, 'b': 2}.map(k, k + k)"), json::parse(R"(["aa", "bb"])"));
  EXPECT_EQ(eval("self.items.filter(i, i.on).map(i, i.name)",
                 json::parse(R"({"items": [{"name": "x", "on": true}, {"name": "y", "on": false}]})")),
            json::parse(R"(["x"])"));
  EXPECT_EQ(eval("[[1, 2], [3]].all(l, l.all(x, x > 0))"), true);  // nested comprehensions
  EXPECT_EQ(eval("[1, 2].map(x, [3, 4].map(x, x))"), json::parse("[[3, 4], [3, 4]]"));  // shadowing
  EXPECT_EQ(errorOf("[1, 0].map(x, 1 / x)"), "division by zero");
  EXPECT_EQ(errorOf("[1].filter(x, 'yes')"), "no such overload");
}

TEST(CelFunctions, Size) {
  EXPECT_EQ(eval("size('héllo')"), 5);  // code points, not bytes
  EXPECT_EQ(eval("'abc'.size()"), 3);
  EXPECT_EQ(eval("[1, 2].size()"), 2);
  EXPECT_EQ(eval("size({'a': 1})"), 1);
  EXPECT_EQ(errorOf("size(1)"), "no such overload");
}

TEST(CelFunctions, StringPredicates) {
  EXPECT_EQ(eval("'/var/lib/x'.startsWith('/var')"), true);
  EXPECT_EQ(eval("'/var'.startsWith('/var/lib')"), false);
  EXPECT_EQ(eval("'disk.qcow2'.endsWith('.qcow2')"), true);
  EXPECT_EQ(eval("'a'.endsWith('abc')"), false);
  EXPECT_EQ(eval("'hello'.contains('ell')"), true);
  EXPECT_EQ(eval("'hello'.contains('xyz')"), false);
  EXPECT_EQ(errorOf("'a'.startsWith(1)"), "no such overload");
}

TEST(CelFunctions, Matches) {
  EXPECT_EQ(eval("'abc123'.matches('^[a-z]+[0-9]+$')"), true);
  EXPECT_EQ(eval("'abc'.matches('b')"), true);  // a partial match, as RE2's
  EXPECT_EQ(eval("matches('abc', '^b')"), false);
  EXPECT_NE(errorOf("'a'.matches('(')").find("invalid regular expression"), std::string::npos);
  EXPECT_EQ(errorOf("1.matches('a')"), "no such overload");
  // Long inputs are linear, not a stack overflow.
  EXPECT_EQ(eval("self.matches('^[^/]+$')", std::string(200000, 'a')), true);
}

TEST(CelFunctions, Conversions) {
  EXPECT_EQ(eval("string(12)"), "12");
  EXPECT_EQ(eval("string(12u)"), "12");
  EXPECT_EQ(eval("string(1.5)"), "1.5");
  EXPECT_EQ(eval("string(1000000.0)"), "1e+06");
  EXPECT_EQ(eval("string(true)"), "true");
  EXPECT_EQ(eval("string('s')"), "s");
  EXPECT_EQ(eval("int('42')"), 42);
  EXPECT_EQ(eval("int(-2.9)"), -2);
  EXPECT_EQ(eval("int(7u)"), 7);
  EXPECT_EQ(eval("uint(7)"), 7u);
  EXPECT_DOUBLE_EQ(eval("double(2)").get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(eval("double('2.5')").get<double>(), 2.5);
  EXPECT_EQ(eval("bool('true')"), true);
  EXPECT_EQ(eval("dyn(1) == 1"), true);
  EXPECT_EQ(errorOf("int('x')"), "cannot convert string \"x\" to int");
  EXPECT_EQ(errorOf("int(1e30)"), "range error converting 1e+30 to int");
  EXPECT_EQ(errorOf("uint(-1)"), "unsigned integer overflow");
  EXPECT_EQ(errorOf("int(18446744073709551615u)"), "integer overflow");
  EXPECT_EQ(errorOf("string([1])"), "no such overload");
}

TEST(CelFunctions, KubernetesStringLibrary) {
  EXPECT_EQ(eval("'AbC'.lowerAscii()"), "abc");
  EXPECT_EQ(eval("'AbC'.upperAscii()"), "ABC");
  EXPECT_EQ(eval("'  x \\n'.trim()"), "x");
  EXPECT_EQ(eval("'a,b,,c'.split(',')"), json::parse(R"(["a", "b", "", "c"])"));
  EXPECT_EQ(eval("['a', 'b'].join('-')"), "a-b");
  EXPECT_EQ(eval("['a', 'b'].join()"), "ab");
  EXPECT_EQ(eval("'héllo'.indexOf('l')"), 2);
  EXPECT_EQ(eval("'hello'.lastIndexOf('l')"), 3);
  EXPECT_EQ(eval("'hello'.indexOf('z')"), -1);
  EXPECT_EQ(eval("'a.b.c'.replace('.', '/')"), "a/b/c");
  EXPECT_EQ(eval("'héllo'.substring(1, 3)"), "él");
  EXPECT_EQ(eval("'hello'.substring(3)"), "lo");
  EXPECT_EQ(errorOf("'abc'.substring(2, 9)"), "index out of range: 9");
  EXPECT_EQ(errorOf("[1].join()"), "no such overload");
}

TEST(CelValues, FromJsonFollowsTheSchema) {
  const json schema = json::parse(R"({"type": "object", "properties": {"ratio": {"type": "number"}}})");
  const Value v = Value::fromJson(json::parse(R"({"ratio": 2, "count": 2})"), &schema);
  EXPECT_EQ(v.find(Value::string("ratio"))->kind(), Value::Kind::Double);
  EXPECT_EQ(v.find(Value::string("count"))->kind(), Value::Kind::Int);
  EXPECT_EQ(Value::fromJson(json(18446744073709551615ULL)).kind(), Value::Kind::Uint);
}

// ---- Every rule of crds/*.yaml -------------------------------------------------------------------------

void collectRules(const json& schema, std::vector<std::string>& rules) {
  if (schema.is_object()) {
    if (auto it = schema.find("x-kubernetes-validations"); it != schema.end()) {
      for (const auto& rule : *it) {
        rules.push_back(rule.value("rule", ""));
      }
    }
    for (const auto& [key, sub] : schema.items()) {
      if (key != "x-kubernetes-validations" && key != "default" && key != "enum") {
        collectRules(sub, rules);
      }
    }
  } else if (schema.is_array()) {
    for (const auto& sub : schema) {
      collectRules(sub, rules);
    }
  }
}

bool holds(const std::string& rule, const json& self, const json* oldSelf = nullptr) {
  const Value v = run(rule, self, oldSelf);
  EXPECT_FALSE(v.isError()) << rule << ": " << (v.isError() ? v.asString() : "");
  return v.kind() == Value::Kind::Bool && v.asBool();
}

TEST(CelCrdRules, EveryRuleCompiles) {
  std::vector<std::string> rules;
  for (const auto& type : testsupport::crdRegistry().all()) {
    collectRules(type.schema, rules);
  }
  EXPECT_EQ(rules.size(), 11u);  // update this and add cases below when a CRD gains a rule
  for (const auto& rule : rules) {
    EXPECT_EQ(compileError(rule), "compiled") << rule;
  }
}

TEST(CelCrdRules, DomainNodeNameIsImmutable) {
  const json same = "node-a";
  const json other = "node-b";
  EXPECT_TRUE(holds("self == oldSelf", "node-a", &same));
  EXPECT_FALSE(holds("self == oldSelf", "node-a", &other));
}

TEST(CelCrdRules, DiskHasExactlyOneOfSourceAndCreate) {
  const std::string rule = "has(self.source) != has(self.create)";
  EXPECT_TRUE(holds(rule, json::parse(R"({"name": "vda", "source": {"path": "/a"}})")));
  EXPECT_TRUE(holds(rule, json::parse(R"({"name": "vda", "create": {"size": "1Gi"}})")));
  EXPECT_FALSE(holds(rule, json::parse(R"({"name": "vda"})")));
  EXPECT_FALSE(
      holds(rule, json::parse(R"({"name": "vda", "source": {"path": "/a"}, "create": {"size": 1}})")));
}

TEST(CelCrdRules, DiskPathHasNoDotSegments) {
  const std::string rule = "!self.matches('(^|/)[.][.]?(/|$)')";
  EXPECT_TRUE(holds(rule, "/var/lib/images/a.qcow2"));
  EXPECT_TRUE(holds(rule, "/var/lib/..hidden/a"));
  EXPECT_TRUE(holds(rule, "/var/lib/a..b"));
  EXPECT_FALSE(holds(rule, "/var/lib/../etc/shadow"));
  EXPECT_FALSE(holds(rule, "/var/lib/./a"));
  EXPECT_FALSE(holds(rule, "/var/lib/.."));
  EXPECT_FALSE(holds(rule, "/."));
}

TEST(CelCrdRules, NetworkHasExactlyOneOfNetworkAndBridge) {
  const std::string rule = "has(self.network) != has(self.bridge)";
  EXPECT_TRUE(holds(rule, json::parse(R"({"network": "default"})")));
  EXPECT_TRUE(holds(rule, json::parse(R"({"bridge": "br0", "model": "virtio"})")));
  EXPECT_FALSE(holds(rule, json::parse(R"({"model": "virtio"})")));
  EXPECT_FALSE(holds(rule, json::parse(R"({"network": "default", "bridge": "br0"})")));
}

TEST(CelCrdRules, SnapshotRevertSpecIsImmutable) {
  const json old = json::parse(R"({"domainName": "d", "snapshotName": "s1"})");
  EXPECT_TRUE(holds("self == oldSelf", json::parse(R"({"snapshotName": "s1", "domainName": "d"})"), &old));
  EXPECT_FALSE(holds("self == oldSelf", json::parse(R"({"domainName": "d", "snapshotName": "s2"})"), &old));
  EXPECT_FALSE(holds("self == oldSelf",
                     json::parse(R"({"domainName": "d", "snapshotName": "s1", "force": true})"), &old));
}

TEST(CelCrdRules, SnapshotTransitionRules) {
  const std::string domainName = "self.domainName == oldSelf.domainName";
  const std::string location =
      "has(self.location) == has(oldSelf.location) &&\n(!has(self.location) || self.location == "
      "oldSelf.location)";
  const std::string memory =
      "has(self.memory) == has(oldSelf.memory) &&\n(!has(self.memory) || self.memory == oldSelf.memory)";
  const json old = json::parse(R"({"domainName": "d", "location": "External", "memory": false})");
  EXPECT_TRUE(holds(domainName, json::parse(R"({"domainName": "d"})"), &old));
  EXPECT_FALSE(holds(domainName, json::parse(R"({"domainName": "e"})"), &old));
  EXPECT_TRUE(holds(location, json::parse(R"({"location": "External"})"), &old));
  EXPECT_FALSE(holds(location, json::parse(R"({"location": "Internal"})"), &old));
  EXPECT_FALSE(holds(location, json::parse(R"({})"), &old));
  EXPECT_TRUE(holds(memory, json::parse(R"({"memory": false})"), &old));
  EXPECT_FALSE(holds(memory, json::parse(R"({"memory": true})"), &old));
  EXPECT_FALSE(holds(memory, json::parse(R"({})"), &old));
  const json noMemory = json::parse(R"({"domainName": "d"})");
  EXPECT_TRUE(holds(memory, json::parse(R"({"domainName": "d"})"), &noMemory));
  EXPECT_FALSE(holds(memory, json::parse(R"({"memory": true})"), &noMemory));
}

TEST(CelCrdRules, SnapshotCrossFieldRules) {
  const std::string memory = "!has(self.memory) || (has(self.location) && self.location == 'External')";
  const std::string quiesce =
      "!has(self.quiesce) || !self.quiesce ||\n"
      "(has(self.location) && self.location == 'External' && has(self.memory) && !self.memory)";
  EXPECT_TRUE(holds(memory, json::parse(R"({"location": "Internal"})")));
  EXPECT_TRUE(holds(memory, json::parse(R"({"location": "External", "memory": true})")));
  EXPECT_FALSE(holds(memory, json::parse(R"({"location": "Internal", "memory": true})")));
  EXPECT_FALSE(holds(memory, json::parse(R"({"memory": false})")));
  EXPECT_TRUE(holds(quiesce, json::parse(R"({"quiesce": false})")));
  EXPECT_TRUE(holds(quiesce, json::parse(R"({"location": "External", "memory": false, "quiesce": true})")));
  EXPECT_FALSE(holds(quiesce, json::parse(R"({"location": "External", "memory": true, "quiesce": true})")));
  EXPECT_FALSE(holds(quiesce, json::parse(R"({"location": "External", "quiesce": true})")));
  EXPECT_FALSE(holds(quiesce, json::parse(R"({"location": "Internal", "quiesce": true})")));
}

}  // namespace
}  // namespace virtsnap::apiserver::cel
