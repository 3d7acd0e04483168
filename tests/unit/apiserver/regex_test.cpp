// RE2 behind CEL's matches() and the schema's `pattern` (controller/apiserver/cel_regex.h): the syntax
// and UTF-8 semantics of Go's regexp, which std::regex's ECMAScript grammar did not have.

#include "controller/apiserver/cel/regex.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/apiserver/cel/cel.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/validation/schema_validator.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

// `text.matches(pattern)` through the CEL interpreter: "true", "false" or "error: <message>".
std::string celMatches(const std::string& text, const std::string& pattern) {
  auto program = cel::compile("self.text.matches(self.pattern)");
  if (!program) {
    return "compile: " + program.error();
  }
  cel::Activation activation;
  activation.emplace("self", cel::Value::fromJson({{"text", text}, {"pattern", pattern}}));
  const cel::Value v = program.value()->evaluate(activation);
  if (v.isError()) {
    return "error: " + v.asString();
  }
  return v.toJson().dump();
}

// The schema's causes for {"spec": {"name": text}} where name has `pattern`.
std::vector<StatusCause> patternCauses(const std::string& pattern, const std::string& text) {
  ServedResource type;
  type.schema = {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "object"}, {"properties", {{"name", {{"type", "string"}, {"pattern", pattern}}}}}}}}}};
  json obj = {{"spec", {{"name", text}}}};
  return validateObject(type, obj, nullptr, FieldValidation::Strict).causes;
}

TEST(Regex, CaseInsensitiveFlag) {
  EXPECT_EQ(celMatches("ABC", "(?i)^abc$"), "true");
  EXPECT_EQ(celMatches("ABD", "(?i)^abc$"), "false");
  EXPECT_TRUE(patternCauses("(?i)^[a-z]+$", "MixedCase").empty());
}

TEST(Regex, NamedGroupsInPythonSyntax) {
  EXPECT_EQ(celMatches("disk-12", "^(?P<kind>[a-z]+)-(?P<index>[0-9]+)$"), "true");
  EXPECT_EQ(celMatches("disk-x", "^(?P<kind>[a-z]+)-(?P<index>[0-9]+)$"), "false");
  EXPECT_TRUE(patternCauses("^(?P<host>[a-z]+)$", "node").empty());
}

TEST(Regex, UnicodeLetterClassMatchesNonAsciiLetters) {
  EXPECT_EQ(celMatches("été", "^\\pL+$"), "true");
  EXPECT_EQ(celMatches("Ωμέγα", "^\\p{L}+$"), "true");
  EXPECT_EQ(celMatches("日本", "^\\pL+$"), "true");
  EXPECT_EQ(celMatches("abc1", "^\\pL+$"), "false");
  EXPECT_TRUE(patternCauses("^\\pL+$", "Zürich").empty());
  EXPECT_EQ(patternCauses("^\\pL+$", "Zürich 8001").size(), 1u);
}

TEST(Regex, DotMatchesOneMultiByteCharacter) {
  // "é" is two bytes and "日" three, one character each.
  EXPECT_EQ(celMatches("é", "^.$"), "true");
  EXPECT_EQ(celMatches("日", "^.$"), "true");
  EXPECT_EQ(celMatches("日", "^...$"), "false");
  EXPECT_TRUE(patternCauses("^a.c$", "a€c").empty());
  EXPECT_EQ(patternCauses("^a..c$", "a€c").size(), 1u);
}

TEST(Regex, InvalidPatternIsRefusedWithTheReason) {
  EXPECT_EQ(celMatches("a", "("), "error: invalid regular expression '(': missing ): (");
  EXPECT_EQ(celMatches("a", "a**"), "error: invalid regular expression 'a**': bad repetition operator: **");
  // Back-references are not RE2 (nor Go's regexp).
  EXPECT_NE(celMatches("aa", "(a)\\1").find("invalid escape sequence"), std::string::npos);
  const auto causes = patternCauses("[z-a]", "x");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message,
            R"(Invalid value: "x": spec.name in body should match '[z-a], but pattern is invalid: )"
            R"(invalid character class range: z-a')");
  EXPECT_EQ(causes[0].field, "spec.name");
}

TEST(Regex, CompiledPatternsAreCachedAndTheCacheStaysBounded) {
  auto first = cel::compileRegex("^cached-[0-9]+$");
  auto again = cel::compileRegex("^cached-[0-9]+$");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first.value().get(), again.value().get());
  // Many distinct patterns (as matches(self.x) can make from data) are compiled and still answer.
  for (int i = 0; i < 3000; ++i) {
    auto regex = cel::compileRegex("^p" + std::to_string(i) + "$");
    ASSERT_TRUE(regex);
    EXPECT_TRUE(cel::regexSearch(*regex.value(), "p" + std::to_string(i)));
    ASSERT_LE(cel::cachedRegexCount(), 1024u);
  }
}

TEST(Regex, LongInputsMatchInLinearTime) {
  // A pattern that backtracking engines take exponential time on.
  auto regex = cel::compileRegex("^(a+)+$");
  ASSERT_TRUE(regex);
  EXPECT_FALSE(cel::regexSearch(*regex.value(), std::string(100000, 'a') + "b"));
}

}  // namespace
}  // namespace virtsnap::apiserver
