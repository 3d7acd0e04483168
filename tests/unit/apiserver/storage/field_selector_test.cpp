#include "controller/apiserver/storage/field_selector.h"

#include <gtest/gtest.h>

#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

const json kObject = {{"metadata", {{"name", "web"}, {"namespace", "default"}}},
                      {"spec", {{"nodeName", "node-1"}, {"replicas", 3}, {"paused", true}}}};

ServedResource type() {
  ServedResource type = testsupport::widgetType();
  type.selectableFields = {".spec.nodeName", ".spec.replicas", ".spec.paused"};
  return type;
}

bool selects(const std::string& selector, const json& object = kObject) {
  auto parsed = FieldSelector::parse(selector, type());
  EXPECT_TRUE(parsed.has_value()) << selector << ": " << (parsed.has_value() ? "" : parsed.error());
  return parsed.has_value() && parsed.value().matches(object);
}

TEST(FieldSelector, MetadataFieldsAndSelectableFields) {
  EXPECT_TRUE(selects(""));
  EXPECT_TRUE(selects("metadata.name=web"));
  EXPECT_TRUE(selects("metadata.name==web"));
  EXPECT_FALSE(selects("metadata.name!=web"));
  EXPECT_TRUE(selects("metadata.namespace=default,spec.nodeName=node-1"));
  EXPECT_FALSE(selects("metadata.namespace=default,spec.nodeName=node-2"));
  EXPECT_TRUE(selects("spec.nodeName!=node-2"));
}

TEST(FieldSelector, NonStringValuesCompareAsText) {
  EXPECT_TRUE(selects("spec.replicas=3"));
  EXPECT_TRUE(selects("spec.paused=true"));
  EXPECT_TRUE(selects("spec.nodeName=", json{{"metadata", {{"name", "x"}}}}));
}

TEST(FieldSelector, EscapedValues) {
  json object = kObject;
  object["spec"]["nodeName"] = "a,b=c";
  EXPECT_TRUE(selects("spec.nodeName=a\\,b\\=c", object));
}

TEST(FieldSelector, UnsupportedFieldsAndMalformedTermsAreRefused) {
  auto unsupported = FieldSelector::parse("status.phase=Ready", type());
  ASSERT_FALSE(unsupported.has_value());
  EXPECT_EQ(unsupported.error(), "field label not supported: status.phase");
  auto malformed = FieldSelector::parse("metadata.name", type());
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error(), "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
}

TEST(FieldSelector, FieldValueReadsDottedPaths) {
  EXPECT_EQ(FieldSelector::fieldValue(kObject, "spec.nodeName"), "node-1");
  EXPECT_EQ(FieldSelector::fieldValue(kObject, "spec.missing"), "");
  EXPECT_EQ(FieldSelector::fieldValue(kObject, "metadata.name.deeper"), "");
}

}  // namespace
}  // namespace virtsnap::apiserver
