#include "controller/apiserver/storage/json_patch.h"

#include <gtest/gtest.h>

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

json patched(const json& document, const std::string& patch) {
  auto result = applyJsonPatch(document, json::parse(patch));
  EXPECT_TRUE(result.has_value()) << patch << ": " << (result.has_value() ? "" : result.error().message);
  return result.has_value() ? result.value() : json();
}

PatchError failure(const json& document, const std::string& patch) {
  auto result = applyJsonPatch(document, json::parse(patch));
  EXPECT_FALSE(result.has_value()) << patch;
  return result.has_value() ? PatchError{} : result.error();
}

const json kDoc = json::parse(R"({"a":{"b":1,"c":[1,2,3]},"x/y":{"t~":true}})");

TEST(JsonPatch, AddReplaceRemove) {
  EXPECT_EQ(patched(kDoc, R"([{"op":"add","path":"/a/d","value":4}])")["a"]["d"], 4);
  EXPECT_EQ(patched(kDoc, R"([{"op":"add","path":"/a/c/1","value":9}])")["a"]["c"], json::parse("[1,9,2,3]"));
  EXPECT_EQ(patched(kDoc, R"([{"op":"add","path":"/a/c/-","value":9}])")["a"]["c"], json::parse("[1,2,3,9]"));
  EXPECT_EQ(patched(kDoc, R"([{"op":"replace","path":"/a/b","value":"z"}])")["a"]["b"], "z");
  EXPECT_FALSE(patched(kDoc, R"([{"op":"remove","path":"/a/b"}])")["a"].contains("b"));
  EXPECT_EQ(patched(kDoc, R"([{"op":"remove","path":"/a/c/0"}])")["a"]["c"], json::parse("[2,3]"));
  EXPECT_EQ(patched(kDoc, R"([{"op":"add","path":"","value":{"new":1}}])"), json::parse(R"({"new":1})"));
}

TEST(JsonPatch, EscapedPointerTokens) {
  EXPECT_EQ(patched(kDoc, R"([{"op":"replace","path":"/x~1y/t~0","value":false}])")["x/y"]["t~"], false);
}

TEST(JsonPatch, MoveCopyAndTest) {
  json moved = patched(kDoc, R"([{"op":"move","from":"/a/b","path":"/moved"}])");
  EXPECT_EQ(moved["moved"], 1);
  EXPECT_FALSE(moved["a"].contains("b"));
  json copied = patched(kDoc, R"([{"op":"copy","from":"/a/c","path":"/copy"}])");
  EXPECT_EQ(copied["copy"], copied["a"]["c"]);
  EXPECT_EQ(patched(kDoc, R"([{"op":"test","path":"/a/b","value":1}])"), kDoc);
}

TEST(JsonPatch, FailuresUseTheLibraryTexts) {
  EXPECT_EQ(failure(kDoc, R"([{"op":"test","path":"/a/b","value":2}])").message,
            "testing value /a/b failed: test failed");
  EXPECT_EQ(failure(kDoc, R"([{"op":"remove","path":"/nope"}])").message,
            "remove operation does not apply: doc is missing path: \"/nope\": missing value");
  EXPECT_EQ(failure(kDoc, R"([{"op":"add","path":"/nope/deeper","value":1}])").message,
            "add operation does not apply: doc is missing path: \"/nope/deeper\": missing value");
  EXPECT_EQ(failure(kDoc, R"([{"op":"replace","path":"/nope","value":1}])").message,
            "replace operation does not apply: doc is missing key: /nope: missing value");
  EXPECT_EQ(failure(kDoc, R"([{"op":"frobnicate","path":"/a"}])").message, "Unexpected kind: frobnicate");
  EXPECT_FALSE(failure(kDoc, R"([{"op":"add","path":"/a/c/7","value":1}])").badRequest);
  EXPECT_TRUE(failure(kDoc, R"({"op":"add"})").badRequest);
}

TEST(JsonPatch, TestOfNullPassesForAMissingKeyButNotUnderAMissingParent) {
  // As evanphx/json-patch in kube-apiserver: null matches an absent key of an existing container ...
  EXPECT_EQ(patched(kDoc, R"([{"op":"test","path":"/a/absent","value":null}])"), kDoc);
  // ... but a path whose parent does not exist, or is not a container, does not apply.
  EXPECT_EQ(failure(kDoc, R"([{"op":"test","path":"/nope/deeper","value":null}])").message,
            "test operation does not apply: is missing path: /nope/deeper: missing value");
  EXPECT_EQ(failure(kDoc, R"([{"op":"test","path":"/a/b/deeper","value":null}])").message,
            "test operation does not apply: is missing path: /a/b/deeper: missing value");
  EXPECT_FALSE(failure(kDoc, R"([{"op":"test","path":"/nope/deeper","value":null}])").badRequest);
  EXPECT_EQ(failure(kDoc, R"([{"op":"test","path":"/nope/deeper","value":1}])").message,
            "test operation does not apply: is missing path: /nope/deeper: missing value");
}

TEST(JsonPatch, AFailedOperationLeavesTheDocumentUnchanged) {
  json document = kDoc;
  auto result = applyJsonPatch(
      document, json::parse(R"([{"op":"add","path":"/z","value":1},{"op":"test","path":"/z","value":2}])"));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(document, kDoc);
}

TEST(MergePatch, Rfc7386Examples) {
  // The examples of RFC 7386 appendix A.
  auto merge = [](const char* target, const char* patch) {
    return applyMergePatch(json::parse(target), json::parse(patch));
  };
  EXPECT_EQ(merge(R"({"a":"b"})", R"({"a":"c"})"), json::parse(R"({"a":"c"})"));
  EXPECT_EQ(merge(R"({"a":"b"})", R"({"b":"c"})"), json::parse(R"({"a":"b","b":"c"})"));
  EXPECT_EQ(merge(R"({"a":"b"})", R"({"a":null})"), json::parse(R"({})"));
  EXPECT_EQ(merge(R"({"a":"b","b":"c"})", R"({"a":null})"), json::parse(R"({"b":"c"})"));
  EXPECT_EQ(merge(R"({"a":["b"]})", R"({"a":"c"})"), json::parse(R"({"a":"c"})"));
  EXPECT_EQ(merge(R"({"a":"c"})", R"({"a":["b"]})"), json::parse(R"({"a":["b"]})"));
  EXPECT_EQ(merge(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})"), json::parse(R"({"a":{"b":"d"}})"));
  EXPECT_EQ(merge(R"({"a":[{"b":"c"}]})", R"({"a":[1]})"), json::parse(R"({"a":[1]})"));
  EXPECT_EQ(merge(R"(["a","b"])", R"(["c","d"])"), json::parse(R"(["c","d"])"));
  EXPECT_EQ(merge(R"({"a":"b"})", R"(["c"])"), json::parse(R"(["c"])"));
  EXPECT_EQ(merge(R"({"e":null})", R"({"a":1})"), json::parse(R"({"e":null,"a":1})"));
  EXPECT_EQ(merge(R"([1,2])", R"({"a":"b","c":null})"), json::parse(R"({"a":"b"})"));
  EXPECT_EQ(merge(R"({})", R"({"a":{"bb":{"ccc":null}}})"), json::parse(R"({"a":{"bb":{}}})"));
}

}  // namespace
}  // namespace virtsnap::apiserver
