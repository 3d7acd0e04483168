#include "controller/apiserver/storage/object_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const json kObject = {{"metadata", {{"name", "web"}, {"labels", {{"tier", "front"}}}}},
                      {"spec", {{"nodeName", "node-1"}}}};

ObjectSelector parsed(const std::string& labels, const std::string& fields) {
  meta::ListOptions options;
  options.labelSelector = labels;
  options.fieldSelector = fields;
  auto selector = ObjectSelector::parse(options, testsupport::widgetType());
  EXPECT_TRUE(selector.has_value()) << (selector ? "" : selector.error());
  return selector ? std::move(selector).value() : ObjectSelector();
}

TEST(ObjectSelector, NoSelectorsSelectEverything) {
  const ObjectSelector all = parsed("", "");
  EXPECT_TRUE(all.empty());
  EXPECT_TRUE(all.matches(kObject));
  EXPECT_TRUE(all.matches(json{{"metadata", "not an object"}}));
}

TEST(ObjectSelector, BothSelectorsMustMatch) {
  EXPECT_TRUE(parsed("tier=front", "spec.nodeName=node-1").matches(kObject));
  EXPECT_FALSE(parsed("tier=back", "spec.nodeName=node-1").matches(kObject));
  EXPECT_FALSE(parsed("tier=front", "spec.nodeName=node-2").matches(kObject));
  EXPECT_FALSE(parsed("tier", "").matches(json{{"metadata", {{"name", "unlabelled"}}}}));
  EXPECT_FALSE(parsed("tier=front", "").empty());
}

TEST(ObjectSelector, EitherSelectorsErrorIsTheAnswer) {
  meta::ListOptions badLabels;
  badLabels.labelSelector = "tier in (front";
  auto labels = ObjectSelector::parse(badLabels, testsupport::widgetType());
  ASSERT_FALSE(labels.has_value());
  EXPECT_FALSE(labels.error().empty());
  meta::ListOptions badFields;
  badFields.fieldSelector = "spec.replicas=3";
  auto fields = ObjectSelector::parse(badFields, testsupport::widgetType());
  ASSERT_FALSE(fields.has_value());
  EXPECT_THAT(fields.error(), HasSubstr("spec.replicas"));
}

}  // namespace
}  // namespace virtsnap::apiserver
