// The shared YAML reader (crds/meta/yaml_json.h): how plain scalars resolve, and the limits that keep a
// hostile document cheap.

#include "crds/meta/yaml_json.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::meta {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json only(const std::string& text, const YamlOptions& options = {}) {
  auto documents = yamlDocumentsToJson(text, options);
  if (!documents || documents.value().size() != 1) {
    ADD_FAILURE() << (documents ? "not one document" : documents.error());
    return json();
  }
  return documents.value().front();
}

// The error for `text`; "" when it reads.
std::string errorOf(const std::string& text, const YamlOptions& options = {}) {
  auto documents = yamlDocumentsToJson(text, options);
  return documents ? std::string() : documents.error();
}

TEST(YamlJson, PlainScalarsResolveAsTheCoreSchemaQuotedOnesStayStrings) {
  const json document =
      only("n: ~\ne:\nb: True\ni: -12\nplus: +7\nf: .5\nx: 1.5e3\ns: 1.2.3\nq: '12'\nd: \"true\"\n");
  EXPECT_EQ(document, (json{{"n", nullptr},
                            {"e", nullptr},
                            {"b", true},
                            {"i", -12},
                            {"plus", 7},
                            {"f", 0.5},
                            {"x", 1500.0},
                            {"s", "1.2.3"},
                            {"q", "12"},
                            {"d", "true"}}));
}

TEST(YamlJson, TextKeepsEveryPlainScalarAsWrittenButNull) {
  const json document =
      only("token: 0123\nflag: true\nratio: 1.10\nnone: null\n", {.plainScalars = PlainScalars::Text});
  EXPECT_EQ(document, (json{{"token", "0123"}, {"flag", "true"}, {"ratio", "1.10"}, {"none", nullptr}}));
}

TEST(YamlJson, EveryNonEmptyDocumentAndTheLineOfAnError) {
  auto documents = yamlDocumentsToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(documents.has_value()) << documents.error();
  EXPECT_EQ(documents.value().size(), 2u);
  EXPECT_THAT(errorOf("a: [1,\nb: 2\n"), HasSubstr("malformed YAML"));
}

TEST(YamlJson, InvalidUtf8AndDeepNestingAreRefused) {
  EXPECT_THAT(errorOf("a: \"\xff\"\n"), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(errorOf("a: [[[[1]]]]\n", {.maxNestingDepth = 3}), HasSubstr("nests deeper than 3"));
}

TEST(YamlJson, NumbersOutOfRangeAndHugeScalarsStayStrings) {
  auto documents = yamlDocumentsToJson("big: 1e400\nsmall: 1e5\ndigits: " + std::string(1000000, '7') + "\n");
  ASSERT_TRUE(documents.has_value()) << documents.error();
  const json& document = documents.value().front();
  EXPECT_EQ(document["big"], "1e400");  // as go-yaml: not a float, so a string
  EXPECT_EQ(document["small"], 100000.0);
  EXPECT_TRUE(document["digits"].is_string());  // and no stack overflow in std::regex on the way
}

TEST(YamlJson, AModestAnchorIsFineAnExpansionBeyondTheBudgetIsNot) {
  auto anchored = yamlDocumentsToJson("base: &b {a: 1, b: 2}\none: *b\ntwo: *b\n");
  ASSERT_TRUE(anchored.has_value()) << anchored.error();
  EXPECT_EQ(anchored.value().front()["two"]["b"], 2);
  std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (char level = 'b'; level <= 'g'; ++level) {
    bomb += std::string(1, level) + ": &" + level + " [";
    for (int i = 0; i < 10; ++i) {
      bomb += std::string(i ? ",*" : "*") + static_cast<char>(level - 1);
    }
    bomb += "]\n";
  }
  auto refused = yamlDocumentsToJson(bomb);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error(), HasSubstr("excessive aliasing"));
}

}  // namespace
}  // namespace virtsnap::meta
