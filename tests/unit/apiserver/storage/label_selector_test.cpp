#include "controller/apiserver/storage/label_selector.h"

#include <gtest/gtest.h>

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

bool selects(const std::string& selector, const json& labels) {
  auto parsed = LabelSelector::parse(selector);
  EXPECT_TRUE(parsed.has_value()) << selector << ": " << (parsed.has_value() ? "" : parsed.error());
  return parsed.has_value() && parsed.value().matches(labels);
}

std::string refusal(const std::string& selector) {
  auto parsed = LabelSelector::parse(selector);
  EXPECT_FALSE(parsed.has_value()) << selector;
  return parsed.has_value() ? std::string() : parsed.error();
}

const json kLabels = {{"app", "web"}, {"tier", "front"}, {"example.com/owner", "team-a"}, {"replicas", "3"}};

TEST(LabelSelector, EmptySelectsEverything) {
  EXPECT_TRUE(selects("", kLabels));
  EXPECT_TRUE(selects("  ", json()));
  EXPECT_TRUE(LabelSelector::parse("").value().empty());
}

TEST(LabelSelector, EqualityOperators) {
  EXPECT_TRUE(selects("app=web", kLabels));
  EXPECT_TRUE(selects("app==web", kLabels));
  EXPECT_FALSE(selects("app=db", kLabels));
  EXPECT_TRUE(selects("app!=db", kLabels));
  EXPECT_FALSE(selects("app!=web", kLabels));
  EXPECT_TRUE(selects("missing!=x", kLabels));  // != matches an absent label, as in kube
  EXPECT_TRUE(selects("example.com/owner=team-a", kLabels));
  EXPECT_TRUE(selects("app=", json{{"app", ""}}));
}

TEST(LabelSelector, SetOperators) {
  EXPECT_TRUE(selects("app in (db, web)", kLabels));
  EXPECT_FALSE(selects("app in (db)", kLabels));
  EXPECT_TRUE(selects("app notin (db)", kLabels));
  EXPECT_FALSE(selects("app notin (db,web)", kLabels));
  EXPECT_TRUE(selects("missing notin (db)", kLabels));
  EXPECT_FALSE(selects("missing in (db)", kLabels));
}

TEST(LabelSelector, ExistenceAndNumericOperators) {
  EXPECT_TRUE(selects("app", kLabels));
  EXPECT_FALSE(selects("!app", kLabels));
  EXPECT_TRUE(selects("!missing", kLabels));
  EXPECT_TRUE(selects("replicas>2", kLabels));
  EXPECT_FALSE(selects("replicas<3", kLabels));
  EXPECT_FALSE(selects("app>1", kLabels));
}

TEST(LabelSelector, RequirementsAreAnded) {
  EXPECT_TRUE(selects("app=web,tier in (front),!missing", kLabels));
  EXPECT_FALSE(selects("app=web,tier=back", kLabels));
  EXPECT_EQ(LabelSelector::parse("a=b, c in (d,e), !f").value().requirements().size(), 3u);
}

TEST(LabelSelector, MalformedSelectorsAreRefused) {
  EXPECT_NE(refusal("app in (web").find("expected"), std::string::npos);
  EXPECT_NE(refusal("app in web").find("expected: '('"), std::string::npos);
  EXPECT_NE(refusal("app=web,").find("identifier"), std::string::npos);
  EXPECT_NE(refusal("=web").find("identifier"), std::string::npos);
  EXPECT_NE(refusal("bad key=web").find("expected"), std::string::npos);
  EXPECT_NE(refusal("app=a b").find("expected"), std::string::npos);
  EXPECT_NE(refusal("-app=web").find("unable to parse requirement"), std::string::npos);
  EXPECT_NE(refusal("app=-web").find("values[0][app]: Invalid value: \"-web\""), std::string::npos);
  EXPECT_NE(refusal("n>x").find("integer"), std::string::npos);
  EXPECT_NE(refusal(std::string(64, 'a') + "=b").find("unable to parse requirement"), std::string::npos);
}

}  // namespace
}  // namespace virtsnap::apiserver
