#include "controller/apiserver/storage/server_side_apply.h"

#include <gtest/gtest.h>

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

ManagerContext context(const std::string& manager, FieldScope scope = FieldScope::NoStatus) {
  return ManagerContext{manager, "example.virtsnap.io/v1", "2024-01-01T00:00:00Z", "", scope};
}

const json kLive = json::parse(R"({
  "apiVersion": "example.virtsnap.io/v1", "kind": "Widget",
  "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "7", "labels": {"app": "web"}},
  "spec": {"size": 1, "ports": [80], "empty": {}},
  "status": {"phase": "Ready"}})");

TEST(FieldSets, OwnableFieldsSkipSystemFieldsAndHonourTheScope) {
  FieldSet all = ownableFields(kLive, FieldScope::All);
  EXPECT_EQ(all, (FieldSet{{"f:metadata", "f:labels", "f:app"},
                           {"f:spec", "f:empty"},
                           {"f:spec", "f:ports"},
                           {"f:spec", "f:size"},
                           {"f:status", "f:phase"}}));
  EXPECT_EQ(ownableFields(kLive, FieldScope::StatusOnly), (FieldSet{{"f:status", "f:phase"}}));
  EXPECT_FALSE(ownableFields(kLive, FieldScope::NoStatus).contains({"f:status", "f:phase"}));
}

TEST(FieldSets, FieldsV1RoundTrip) {
  FieldSet fields{{"f:spec", "f:a"}, {"f:spec", "f:b", "f:c"}, {"f:spec", "f:b"}};
  json v1 = fieldsToV1(fields);
  EXPECT_EQ(v1, json::parse(R"({"f:spec":{"f:a":{},"f:b":{".":{},"f:c":{}}}})"));
  EXPECT_EQ(fieldsFromV1(v1), fields);
  EXPECT_EQ(fieldPathString({"f:spec", "f:b"}), ".spec.b");
  // kube's list-item keys pass through as opaque segments.
  EXPECT_EQ(fieldsFromV1(json::parse(R"({"f:spec":{"k:{\"name\":\"a\"}":{".":{},"f:x":{}}}})")).size(), 2u);
}

TEST(ServerSideApply, FirstApplyOwnsExactlyTheAppliedFields) {
  auto applied =
      serverSideApply(kLive, json::parse(R"({"spec":{"size":2,"extra":"x"}})"), context("a"), false);
  ASSERT_TRUE(applied.has_value());
  const json& result = applied.value();
  EXPECT_EQ(result["spec"]["size"], 2);
  EXPECT_EQ(result["spec"]["ports"], json::array({80}));  // untouched: nobody applied it
  EXPECT_EQ(result["status"], kLive["status"]);
  ASSERT_EQ(result["metadata"]["managedFields"].size(), 1u);
  const json& entry = result["metadata"]["managedFields"][0];
  EXPECT_EQ(entry["manager"], "a");
  EXPECT_EQ(entry["operation"], "Apply");
  EXPECT_EQ(entry["time"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(entry["fieldsV1"], json::parse(R"({"f:spec":{"f:extra":{},"f:size":{}}})"));
}

TEST(ServerSideApply, SystemMetadataInTheConfigurationIsIgnored) {
  auto applied = serverSideApply(
      kLive,
      json::parse(R"({"metadata":{"name":"web","uid":"other","resourceVersion":"1"},"spec":{"size":1}})"),
      context("a"), false);
  ASSERT_TRUE(applied.has_value());
  EXPECT_EQ(applied.value()["metadata"]["uid"], "u");
  EXPECT_EQ(applied.value()["metadata"]["resourceVersion"], "7");
}

TEST(ServerSideApply, DroppedFieldsGoUnlessSomeoneElseOwnsThem) {
  json live = serverSideApply(kLive, json::parse(R"({"spec":{"a":1,"b":2}})"), context("one"), false).value();
  live = serverSideApply(live, json::parse(R"({"spec":{"b":2}})"), context("two"), false).value();
  json after = serverSideApply(live, json::parse(R"({"spec":{}})"), context("one"), false).value();
  EXPECT_FALSE(after["spec"].contains("a"));
  EXPECT_EQ(after["spec"]["b"], 2);  // "two" still owns it
}

TEST(ServerSideApply, ConflictsListEveryManagerAndPath) {
  json live = kLive;
  recordUpdate(json::object(), live, context("editor"));
  auto refused =
      serverSideApply(live, json::parse(R"({"spec":{"size":5,"ports":[81]}})"), context("a"), false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 409);
  EXPECT_EQ(refused.error().message,
            "Apply failed with 2 conflicts: conflicts with \"editor\" using example.virtsnap.io/v1 at "
            "2024-01-01T00:00:00Z:\n- .spec.ports\n- .spec.size");
  EXPECT_EQ(refused.error().causes.size(), 2u);
  EXPECT_TRUE(refused.error().name.empty());  // kube's apply conflicts carry no details but the causes
}

TEST(ServerSideApply, ForceTakesOwnership) {
  json live = kLive;
  recordUpdate(json::object(), live, context("editor"));
  auto forced = serverSideApply(live, json::parse(R"({"spec":{"size":5}})"), context("a"), true);
  ASSERT_TRUE(forced.has_value());
  for (const json& entry : forced.value()["metadata"]["managedFields"]) {
    FieldSet owned = fieldsFromV1(entry["fieldsV1"]);
    if (entry["manager"] == "editor") {
      EXPECT_FALSE(owned.contains({"f:spec", "f:size"}));
    } else {
      EXPECT_TRUE(owned.contains({"f:spec", "f:size"}));
    }
  }
}

TEST(RecordUpdate, ChangedFieldsMoveToTheWriterAndRemovedFieldsAreForgotten) {
  json live = kLive;
  recordUpdate(json::object(), live, context("creator", FieldScope::All));
  json updated = live;
  updated["spec"]["size"] = 3;
  updated["spec"].erase("ports");
  recordUpdate(live, updated, context("editor", FieldScope::All));
  const json& entries = updated["metadata"]["managedFields"];
  ASSERT_EQ(entries.size(), 2u);
  FieldSet creator = fieldsFromV1(entries[0]["fieldsV1"]);
  FieldSet editor = fieldsFromV1(entries[1]["fieldsV1"]);
  EXPECT_FALSE(creator.contains({"f:spec", "f:size"}));
  EXPECT_FALSE(creator.contains({"f:spec", "f:ports"}));
  EXPECT_TRUE(creator.contains({"f:metadata", "f:labels", "f:app"}));
  EXPECT_EQ(editor, (FieldSet{{"f:spec", "f:size"}}));
  EXPECT_EQ(entries[1]["operation"], "Update");
}

TEST(RecordUpdate, AClientMayResetManagedFields) {
  json live = kLive;
  recordUpdate(json::object(), live, context("creator"));
  json updated = live;
  updated["metadata"]["managedFields"] = json::array({json::object()});
  recordUpdate(live, updated, context("editor"));
  EXPECT_FALSE(updated["metadata"].contains("managedFields"));
}

}  // namespace
}  // namespace virtsnap::apiserver
