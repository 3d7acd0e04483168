#include "controller/apiserver/storage/object_store.h"

#include <atomic>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "controller/apiserver/storage/memory_object_store.h"
#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;
using testsupport::TempDir;
using testsupport::widget;

ListOptions selecting(std::string labels, std::string fields = "") {
  ListOptions options;
  options.labelSelector = std::move(labels);
  options.fieldSelector = std::move(fields);
  return options;
}

ListOptions fromVersion(std::string version, bool bookmarks = false) {
  ListOptions options;
  options.resourceVersion = std::move(version);
  options.allowWatchBookmarks = bookmarks;
  return options;
}

class ObjectStoreTest : public testsupport::StoreTestBase {
 protected:
  json create(json object, const std::string& ns = "default") {
    auto created = store_->create(type_, ns, std::move(object), WriteOptions{}, nullptr);
    EXPECT_TRUE(created.has_value()) << (created.has_value() ? "" : created.error().message);
    return created.has_value() ? created.value() : json();
  }

  ApiError createError(json object, const std::string& ns = "default") {
    auto created = store_->create(type_, ns, std::move(object), WriteOptions{}, nullptr);
    EXPECT_FALSE(created.has_value());
    return created.has_value() ? ApiError{} : created.error();
  }

  std::string rv(const json& object) { return object["metadata"]["resourceVersion"].get<std::string>(); }

  ServedResource type_ = testsupport::widgetType();
};

TEST_F(ObjectStoreTest, OpenCreatesTheDefaultNamespaces) {
  const ServedResource* namespaces = registry_.find("", "v1", "namespaces");
  ASSERT_NE(namespaces, nullptr);
  auto list = store_->list(*namespaces, "", ListOptions{});
  ASSERT_TRUE(list.has_value());
  std::vector<std::string> names;
  for (const json& item : list.value()["items"]) {
    names.push_back(item["metadata"]["name"]);
    EXPECT_EQ(item["status"]["phase"], "Active");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"default", "kube-node-lease", "kube-public", "kube-system"}));
  EXPECT_EQ(list.value()["kind"], "NamespaceList");
  EXPECT_EQ(list.value()["apiVersion"], "v1");
  EXPECT_EQ(store_->resourceVersion(), 4u);
}

TEST_F(ObjectStoreTest, CreateFillsSystemFields) {
  json created = create(widget("web", {{"nodeName", "n1"}}));
  const json& metadata = created["metadata"];
  EXPECT_EQ(metadata["name"], "web");
  EXPECT_EQ(metadata["namespace"], "default");
  EXPECT_EQ(metadata["generation"], 1);
  EXPECT_EQ(metadata["creationTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(metadata["resourceVersion"], "5");
  EXPECT_TRUE(
      std::regex_match(metadata["uid"].get<std::string>(),
                       std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_EQ(created["apiVersion"], "example.virtsnap.io/v1");
  EXPECT_EQ(created["kind"], "Widget");
  auto got = store_->get(type_, "default", "web");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got.value(), created);
}

TEST_F(ObjectStoreTest, CreateIgnoresStatusOfATypeWithAStatusSubresource) {
  json object = widget("web");
  object["status"] = {{"phase", "Ready"}};
  EXPECT_FALSE(create(object).contains("status"));
}

TEST_F(ObjectStoreTest, CreateRefusesDuplicatesWithKubesMessage) {
  create(widget("web"));
  ApiError error = createError(widget("web"));
  EXPECT_EQ(error.code, 409);
  EXPECT_EQ(error.reason, "AlreadyExists");
  EXPECT_EQ(error.message, "widgets.example.virtsnap.io \"web\" already exists");
  EXPECT_EQ(error.kind, "widgets");
  EXPECT_EQ(error.group, "example.virtsnap.io");
}

TEST_F(ObjectStoreTest, CreateInAMissingNamespaceIsNotFound) {
  ApiError error = createError(widget("web"), "nowhere");
  EXPECT_EQ(error.code, 404);
  EXPECT_EQ(error.message, "namespaces \"nowhere\" not found");
}

TEST_F(ObjectStoreTest, CreateChecksNames) {
  ApiError missing = createError(json{{"metadata", json::object()}});
  EXPECT_EQ(missing.code, 422);
  EXPECT_EQ(
      missing.message,
      "Widget.example.virtsnap.io \"\" is invalid: metadata.name: Required value: name or generateName is "
      "required");
  ApiError bad = createError(widget("Web_1"));
  EXPECT_EQ(bad.code, 422);
  EXPECT_EQ(bad.reason, "Invalid");
  ASSERT_EQ(bad.causes.size(), 1u);
  EXPECT_EQ(bad.causes[0].field, "metadata.name");
  EXPECT_EQ(bad.causes[0].reason, "FieldValueInvalid");
  EXPECT_TRUE(bad.message.starts_with(
      "Widget.example.virtsnap.io \"Web_1\" is invalid: metadata.name: Invalid value: "
      "\"Web_1\": a lowercase RFC 1123 subdomain"))
      << bad.message;
  EXPECT_EQ(createError(widget(std::string(254, 'a'))).code, 422);
  create(widget("a.b-c.d"));
}

TEST_F(ObjectStoreTest, GenerateNameAddsFiveCharacters) {
  json object = widget("");
  object["metadata"] = {{"generateName", "web-"}};
  json created = create(object);
  EXPECT_TRUE(
      std::regex_match(created["metadata"]["name"].get<std::string>(), std::regex("web-[a-z0-9]{5}")));
}

TEST_F(ObjectStoreTest, CreateChecksApiVersionKindNamespaceAndResourceVersion) {
  json wrongVersion = widget("a");
  wrongVersion["apiVersion"] = "example.virtsnap.io/v2";
  ApiError error = createError(wrongVersion);
  EXPECT_EQ(error.code, 400);
  EXPECT_EQ(error.message,
            "the API version in the data (example.virtsnap.io/v2) does not match the expected API version "
            "(example.virtsnap.io/v1)");
  json wrongKind = widget("a");
  wrongKind["kind"] = "Gadget";
  EXPECT_EQ(createError(wrongKind).code, 400);
  json otherNs = widget("a");
  otherNs["metadata"]["namespace"] = "kube-system";
  EXPECT_EQ(createError(otherNs).code, 400);
  json withVersion = widget("a");
  withVersion["metadata"]["resourceVersion"] = "3";
  EXPECT_EQ(createError(withVersion).message, "resourceVersion should not be set on objects to be created");
}

TEST_F(ObjectStoreTest, ClusterScopedObjectsHaveNoNamespace) {
  type_ = testsupport::clusterWidgetType();
  json object = widget("global");
  object["kind"] = "ClusterWidget";
  object["metadata"]["namespace"] = "default";
  json created = create(object, "");
  EXPECT_FALSE(created["metadata"].contains("namespace"));
  EXPECT_TRUE(store_->get(type_, "", "global").has_value());
}

TEST_F(ObjectStoreTest, GetMissingIsNotFound) {
  auto got = store_->get(type_, "default", "nope");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, 404);
  EXPECT_EQ(got.error().reason, "NotFound");
  EXPECT_EQ(got.error().message, "widgets.example.virtsnap.io \"nope\" not found");
}

TEST_F(ObjectStoreTest, ListSortsByNamespaceAndName) {
  create(widget("b"));
  create(widget("a"), "kube-system");
  create(widget("a"));
  auto list = store_->list(type_, "", ListOptions{});
  ASSERT_TRUE(list.has_value());
  std::vector<std::string> keys;
  for (const json& item : list.value()["items"]) {
    keys.push_back(item["metadata"]["namespace"].get<std::string>() + "/" +
                   item["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"default/a", "default/b", "kube-system/a"}));
  EXPECT_EQ(list.value()["kind"], "WidgetList");
  EXPECT_EQ(list.value()["metadata"]["resourceVersion"], std::to_string(store_->resourceVersion()));
  auto namespaced = store_->list(type_, "kube-system", ListOptions{});
  EXPECT_EQ(namespaced.value()["items"].size(), 1u);
}

TEST_F(ObjectStoreTest, ListFiltersByLabelsAndFields) {
  json a = widget("a", {{"nodeName", "n1"}});
  a["metadata"]["labels"] = {{"app", "web"}, {"tier", "front"}};
  json b = widget("b", {{"nodeName", "n2"}});
  b["metadata"]["labels"] = {{"app", "db"}};
  create(a);
  create(b);
  auto names = [&](ListOptions options) {
    std::vector<std::string> out;
    auto list = store_->list(type_, "default", options);
    EXPECT_TRUE(list.has_value());
    for (const json& item : list.value()["items"]) {
      out.push_back(item["metadata"]["name"]);
    }
    return out;
  };
  EXPECT_EQ(names(selecting("app=web")), std::vector<std::string>{"a"});
  EXPECT_EQ(names(selecting("app in (web,db),!tier")), std::vector<std::string>{"b"});
  EXPECT_EQ(names(selecting("", "spec.nodeName=n2")), std::vector<std::string>{"b"});
  EXPECT_EQ(names(selecting("", "metadata.name!=a")), std::vector<std::string>{"b"});
  EXPECT_EQ(names(selecting("app", "metadata.namespace=default")), (std::vector<std::string>{"a", "b"}));
  ListOptions badLabels = selecting("app in (web");
  EXPECT_EQ(store_->list(type_, "default", badLabels).error().code, 400);
  ListOptions badField = selecting("", "spec.color=red");
  auto refused = store_->list(type_, "default", badField);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 400);
  EXPECT_EQ(refused.error().message, "field label not supported: spec.color");
}

TEST_F(ObjectStoreTest, ListPagesWithLimitAndContinue) {
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    create(widget(name));
  }
  std::vector<std::string> seen;
  ListOptions options;
  options.limit = 2;
  std::string firstVersion;
  int pages = 0;
  while (true) {
    auto list = store_->list(type_, "default", options);
    ASSERT_TRUE(list.has_value()) << list.error().message;
    ++pages;
    if (firstVersion.empty()) {
      firstVersion = list.value()["metadata"]["resourceVersion"];
      EXPECT_EQ(list.value()["metadata"]["remainingItemCount"], 3);
    }
    EXPECT_EQ(list.value()["metadata"]["resourceVersion"], firstVersion);
    for (const json& item : list.value()["items"]) {
      seen.push_back(item["metadata"]["name"]);
    }
    if (!list.value()["metadata"].contains("continue")) {
      break;
    }
    options.continueToken = list.value()["metadata"]["continue"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  ListOptions bad;
  bad.continueToken = "garbage!";
  EXPECT_EQ(store_->list(type_, "default", bad).error().code, 400);
}

TEST_F(ObjectStoreTest, UpdateBumpsVersionAndGenerationOnlyForSpec) {
  json created = create(widget("web", {{"size", 1}}));
  json changed = created;
  changed["spec"]["size"] = 2;
  auto updated = store_->update(type_, "default", "web", changed, false, WriteOptions{}, nullptr);
  ASSERT_TRUE(updated.has_value()) << updated.error().message;
  EXPECT_EQ(updated.value()["metadata"]["generation"], 2);
  EXPECT_GT(std::stoull(rv(updated.value())), std::stoull(rv(created)));

  json labelled = updated.value();
  labelled["metadata"]["labels"] = {{"a", "b"}};
  auto relabelled = store_->update(type_, "default", "web", labelled, false, WriteOptions{}, nullptr);
  ASSERT_TRUE(relabelled.has_value());
  EXPECT_EQ(relabelled.value()["metadata"]["generation"], 2);
  EXPECT_NE(rv(relabelled.value()), rv(updated.value()));
}

TEST_F(ObjectStoreTest, StaleResourceVersionIsAConflict) {
  json created = create(widget("web"));
  json first = created;
  first["spec"]["size"] = 1;
  ASSERT_TRUE(store_->update(type_, "default", "web", first, false, WriteOptions{}, nullptr).has_value());
  json second = created;
  second["spec"]["size"] = 2;
  auto refused = store_->update(type_, "default", "web", second, false, WriteOptions{}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 409);
  EXPECT_EQ(refused.error().reason, "Conflict");
  EXPECT_EQ(
      refused.error().message,
      "Operation cannot be fulfilled on widgets.example.virtsnap.io \"web\": the object has been modified; "
      "please apply your changes to the latest version and try again");
  // Without a resourceVersion the update is unconditional.
  second["metadata"].erase("resourceVersion");
  EXPECT_TRUE(store_->update(type_, "default", "web", second, false, WriteOptions{}, nullptr).has_value());
}

TEST_F(ObjectStoreTest, UpdateOfAMissingObjectIsNotFoundAndNameMismatchIsBadRequest) {
  EXPECT_EQ(
      store_->update(type_, "default", "web", widget("web"), false, WriteOptions{}, nullptr).error().code,
      404);
  create(widget("web"));
  auto mismatch = store_->update(type_, "default", "web", widget("other"), false, WriteOptions{}, nullptr);
  EXPECT_EQ(mismatch.error().code, 400);
  EXPECT_EQ(mismatch.error().message,
            "the name of the object (other) does not match the name on the URL (web)");
}

TEST_F(ObjectStoreTest, NoOpUpdateWritesNothing) {
  json created = create(widget("web", {{"size", 1}}));
  std::uint64_t before = store_->resourceVersion();
  std::uint64_t bytes = store_->logBytes();
  auto same = store_->update(type_, "default", "web", created, false, WriteOptions{}, nullptr);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(rv(same.value()), rv(created));
  EXPECT_EQ(store_->resourceVersion(), before);
  EXPECT_EQ(store_->logBytes(), bytes);
}

TEST_F(ObjectStoreTest, UidIsImmutableAndCreationTimestampKept) {
  json created = create(widget("web"));
  json changed = created;
  changed["metadata"]["uid"] = "00000000-0000-4000-8000-000000000000";
  auto refused = store_->update(type_, "default", "web", changed, false, WriteOptions{}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 422);
  EXPECT_EQ(refused.error().causes.at(0).field, "metadata.uid");
  changed = created;
  changed["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z";
  changed["metadata"]["generation"] = 42;
  changed["spec"]["x"] = 1;
  auto kept = store_->update(type_, "default", "web", changed, false, WriteOptions{}, nullptr);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept.value()["metadata"]["creationTimestamp"], created["metadata"]["creationTimestamp"]);
  EXPECT_EQ(kept.value()["metadata"]["generation"], 2);
}

TEST_F(ObjectStoreTest, MainResourceKeepsStatusAndStatusSubresourceKeepsSpec) {
  json created = create(widget("web", {{"size", 1}}));
  json withStatus = created;
  withStatus["status"] = {{"phase", "Ready"}};
  withStatus["spec"]["size"] = 9;
  withStatus["metadata"]["labels"] = {{"ignored", "yes"}};
  auto status = store_->update(type_, "default", "web", withStatus, true, WriteOptions{}, nullptr);
  ASSERT_TRUE(status.has_value()) << status.error().message;
  EXPECT_EQ(status.value()["status"]["phase"], "Ready");
  EXPECT_EQ(status.value()["spec"]["size"], 1);
  EXPECT_FALSE(status.value()["metadata"].contains("labels"));
  EXPECT_EQ(status.value()["metadata"]["generation"], 1);

  json main = status.value();
  main["status"] = {{"phase", "Broken"}};
  main["spec"]["size"] = 2;
  auto updated = store_->update(type_, "default", "web", main, false, WriteOptions{}, nullptr);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated.value()["status"]["phase"], "Ready");
  EXPECT_EQ(updated.value()["spec"]["size"], 2);
}

TEST_F(ObjectStoreTest, StatusOfATypeWithoutTheSubresourceIsNotFound) {
  type_.hasStatus = false;
  json created = create(widget("web"));
  EXPECT_EQ(store_->update(type_, "default", "web", created, true, WriteOptions{}, nullptr).error().code,
            404);
}

TEST_F(ObjectStoreTest, MergePatchAndJsonPatch) {
  create(widget("web", {{"size", 1}, {"keep", true}}));
  auto merged = store_->patch(type_, "default", "web", PatchType::Merge, R"({"spec":{"size":3,"keep":null}})",
                              false, WriteOptions{}, nullptr);
  ASSERT_TRUE(merged.has_value()) << merged.error().message;
  EXPECT_EQ(merged.value()["spec"], json({{"size", 3}}));
  EXPECT_EQ(merged.value()["metadata"]["generation"], 2);

  auto patched = store_->patch(
      type_, "default", "web", PatchType::Json,
      R"([{"op":"test","path":"/spec/size","value":3},{"op":"add","path":"/spec/list","value":[1]}])", false,
      WriteOptions{}, nullptr);
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  EXPECT_EQ(patched.value()["spec"]["list"], json::array({1}));

  auto failed =
      store_->patch(type_, "default", "web", PatchType::Json,
                    R"([{"op":"test","path":"/spec/size","value":4}])", false, WriteOptions{}, nullptr);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, 422);
  EXPECT_EQ(failed.error().message, "the server rejected our request due to an error in our request");
  EXPECT_EQ(failed.error().causes.at(0).message, "testing value /spec/size failed: test failed");

  EXPECT_EQ(store_->patch(type_, "default", "web", PatchType::Json, "{}", false, WriteOptions{}, nullptr)
                .error()
                .code,
            400);
  EXPECT_EQ(store_->patch(type_, "default", "web", PatchType::Merge, "{nope", false, WriteOptions{}, nullptr)
                .error()
                .code,
            400);
  EXPECT_EQ(store_->patch(type_, "default", "gone", PatchType::Merge, "{}", false, WriteOptions{}, nullptr)
                .error()
                .code,
            404);
}

TEST_F(ObjectStoreTest, PatchWithAStaleResourceVersionConflicts) {
  create(widget("web"));
  auto refused =
      store_->patch(type_, "default", "web", PatchType::Merge,
                    R"({"metadata":{"resourceVersion":"1"},"spec":{"a":1}})", false, WriteOptions{}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 409);
}

TEST_F(ObjectStoreTest, StrategicMergeIsRefusedForCustomResourcesAndMergeForBuiltins) {
  create(widget("web"));
  auto refused = store_->patch(type_, "default", "web", PatchType::StrategicMerge, R"({"spec":{"a":1}})",
                               false, WriteOptions{}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 415);
  EXPECT_EQ(refused.error().reason, "UnsupportedMediaType");
  EXPECT_EQ(refused.error().message,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");

  const ServedResource* leases = registry_.find("coordination.k8s.io", "v1", "leases");
  ASSERT_NE(leases, nullptr);
  json lease{{"apiVersion", "coordination.k8s.io/v1"},
             {"kind", "Lease"},
             {"metadata", {{"name", "node-1"}}},
             {"spec", {{"holderIdentity", "a"}}}};
  ASSERT_TRUE(store_->create(*leases, "kube-node-lease", lease, WriteOptions{}, nullptr).has_value());
  auto patched = store_->patch(*leases, "kube-node-lease", "node-1", PatchType::StrategicMerge,
                               R"({"spec":{"holderIdentity":"b"}})", false, WriteOptions{}, nullptr);
  ASSERT_TRUE(patched.has_value());
  EXPECT_EQ(patched.value()["spec"]["holderIdentity"], "b");
  EXPECT_FALSE(patched.value()["metadata"].contains("generation"));
}

TEST_F(ObjectStoreTest, DeleteWithoutFinalizersRemovesAndReturnsTheObject) {
  json created = create(widget("web"));
  auto removed = store_->remove(type_, "default", "web", json());
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed.value()["metadata"]["uid"], created["metadata"]["uid"]);
  EXPECT_EQ(store_->get(type_, "default", "web").error().code, 404);
  EXPECT_EQ(store_->remove(type_, "default", "web", json()).error().code, 404);
}

TEST_F(ObjectStoreTest, DeletePreconditions) {
  json created = create(widget("web"));
  auto wrongUid = store_->remove(type_, "default", "web", json{{"preconditions", {{"uid", "x"}}}});
  ASSERT_FALSE(wrongUid.has_value());
  EXPECT_EQ(wrongUid.error().code, 409);
  EXPECT_EQ(
      wrongUid.error().message,
      "Operation cannot be fulfilled on widgets.example.virtsnap.io \"web\": Precondition failed: UID in "
      "precondition: x, UID in object meta: " +
          created["metadata"]["uid"].get<std::string>());
  auto wrongVersion =
      store_->remove(type_, "default", "web", json{{"preconditions", {{"resourceVersion", "1"}}}});
  EXPECT_EQ(wrongVersion.error().code, 409);
  auto dry = store_->remove(type_, "default", "web", json{{"dryRun", {"All"}}});
  ASSERT_TRUE(dry.has_value()) << dry.error().toStatus().dump();
  EXPECT_TRUE(store_->get(type_, "default", "web").has_value());
  EXPECT_TRUE(
      store_->remove(type_, "default", "web", json{{"preconditions", {{"uid", created["metadata"]["uid"]}}}})
          .has_value());
}

TEST_F(ObjectStoreTest, FinalizersHoldDeletionUntilTheLastIsRemoved) {
  json object = widget("web");
  object["metadata"]["finalizers"] = {"a.example/x", "b.example/y"};
  create(object);
  clock_.advance(10);
  auto pending = store_->remove(type_, "default", "web", json());
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending.value()["metadata"]["deletionTimestamp"], "2023-11-14T22:13:30Z");
  EXPECT_EQ(pending.value()["metadata"]["deletionGracePeriodSeconds"], 0);
  EXPECT_TRUE(store_->get(type_, "default", "web").has_value());
  // Deleting again changes nothing.
  auto again = store_->remove(type_, "default", "web", json());
  EXPECT_EQ(rv(again.value()), rv(pending.value()));

  json more = pending.value();
  more["metadata"]["finalizers"] = {"a.example/x", "b.example/y", "c.example/z"};
  auto refused = store_->update(type_, "default", "web", more, false, WriteOptions{}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 422);
  EXPECT_EQ(refused.error().message,
            "Widget.example.virtsnap.io \"web\" is invalid: metadata.finalizers: Forbidden: no new "
            "finalizers can be "
            "added if the object is being deleted, found new finalizers []string{\"c.example/z\"}");

  auto one =
      store_->patch(type_, "default", "web", PatchType::Json,
                    R"([{"op":"remove","path":"/metadata/finalizers/0"}])", false, WriteOptions{}, nullptr);
  ASSERT_TRUE(one.has_value()) << one.error().message;
  EXPECT_TRUE(store_->get(type_, "default", "web").has_value());
  auto last = store_->patch(type_, "default", "web", PatchType::Merge, R"({"metadata":{"finalizers":null}})",
                            false, WriteOptions{}, nullptr);
  ASSERT_TRUE(last.has_value()) << last.error().message;
  EXPECT_EQ(store_->get(type_, "default", "web").error().code, 404);
}

TEST_F(ObjectStoreTest, DryRunWritesNothing) {
  std::uint64_t before = store_->resourceVersion();
  WriteOptions dry;
  dry.dryRun = true;
  auto created = store_->create(type_, "default", widget("web"), dry, nullptr);
  ASSERT_TRUE(created.has_value());
  EXPECT_FALSE(created.value()["metadata"].contains("resourceVersion"));
  EXPECT_EQ(store_->get(type_, "default", "web").error().code, 404);
  EXPECT_EQ(store_->resourceVersion(), before);
}

TEST_F(ObjectStoreTest, ManagedFieldsRecordTheWriters) {
  WriteOptions options;
  options.fieldManager = "kubectl-create";
  auto created = store_->create(type_, "default", widget("web", {{"size", 1}}), options, nullptr);
  ASSERT_TRUE(created.has_value());
  const json& entry = created.value()["metadata"]["managedFields"].at(0);
  EXPECT_EQ(entry["manager"], "kubectl-create");
  EXPECT_EQ(entry["operation"], "Update");
  EXPECT_EQ(entry["apiVersion"], "example.virtsnap.io/v1");
  EXPECT_EQ(entry["fieldsType"], "FieldsV1");
  EXPECT_EQ(entry["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(entry["fieldsV1"], json::parse(R"({"f:spec":{"f:size":{}}})"));

  options.fieldManager = "controller";
  auto status = store_->patch(type_, "default", "web", PatchType::Merge, R"({"status":{"phase":"Ready"}})",
                              true, options, nullptr);
  ASSERT_TRUE(status.has_value());
  const json& fields = status.value()["metadata"]["managedFields"];
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1]["manager"], "controller");
  EXPECT_EQ(fields[1]["subresource"], "status");
  EXPECT_EQ(fields[1]["fieldsV1"], json::parse(R"({"f:status":{"f:phase":{}}})"));
}

TEST_F(ObjectStoreTest, ServerSideApplyCreatesThenIsANoOpWhenReapplied) {
  WriteOptions options;
  options.fieldManager = "kubectl";
  const std::string config = R"(
apiVersion: example.virtsnap.io/v1
kind: Widget
metadata:
  name: web
  labels:
    app: web
spec:
  size: 2
  ports: [80, 443]
)";
  auto created = store_->patch(type_, "default", "web", PatchType::Apply, config, false, options, nullptr);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(created.value()["spec"]["size"], 2);
  EXPECT_EQ(created.value()["metadata"]["labels"]["app"], "web");
  const json& entry = created.value()["metadata"]["managedFields"].at(0);
  EXPECT_EQ(entry["manager"], "kubectl");
  EXPECT_EQ(entry["operation"], "Apply");
  EXPECT_EQ(entry["fieldsV1"],
            json::parse(R"({"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:ports":{},"f:size":{}}})"));

  std::uint64_t before = store_->resourceVersion();
  clock_.advance(60);
  auto again = store_->patch(type_, "default", "web", PatchType::Apply, config, false, options, nullptr);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(store_->resourceVersion(), before);
  EXPECT_EQ(again.value(), created.value());
}

TEST_F(ObjectStoreTest, ServerSideApplyRemovesFieldsNoLongerAppliedAndReplacesLists) {
  WriteOptions options;
  options.fieldManager = "kubectl";
  ASSERT_TRUE(
      store_
          ->patch(
              type_, "default", "web", PatchType::Apply,
              R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","spec":{"a":1,"b":2,"l":[1,2,3]}})",
              false, options, nullptr)
          .has_value());
  auto applied =
      store_->patch(type_, "default", "web", PatchType::Apply,
                    R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","spec":{"a":1,"l":[4]}})",
                    false, options, nullptr);
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(applied.value()["spec"], json::parse(R"({"a":1,"l":[4]})"));
}

TEST_F(ObjectStoreTest, ServerSideApplyConflictsWithAnotherManagerUnlessForced) {
  WriteOptions kubectl;
  kubectl.fieldManager = "kubectl";
  const std::string first = R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","spec":{"size":1}})";
  ASSERT_TRUE(
      store_->patch(type_, "default", "web", PatchType::Apply, first, false, kubectl, nullptr).has_value());

  WriteOptions other;
  other.fieldManager = "gitops";
  // Same value: shared ownership, no conflict.
  auto shared = store_->patch(type_, "default", "web", PatchType::Apply, first, false, other, nullptr);
  ASSERT_TRUE(shared.has_value()) << shared.error().message;

  WriteOptions editor;
  editor.fieldManager = "kubectl-edit";
  ASSERT_TRUE(
      store_
          ->patch(type_, "default", "web", PatchType::Merge, R"({"spec":{"size":5}})", false, editor, nullptr)
          .has_value());
  auto conflict = store_->patch(type_, "default", "web", PatchType::Apply, first, false, kubectl, nullptr);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, 409);
  EXPECT_EQ(conflict.error().reason, "Conflict");
  EXPECT_EQ(conflict.error().message,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using example.virtsnap.io/v1 at "
            "2023-11-14T22:13:20Z: .spec.size");
  ASSERT_EQ(conflict.error().causes.size(), 1u);
  EXPECT_EQ(conflict.error().causes[0].reason, "FieldManagerConflict");
  EXPECT_EQ(conflict.error().causes[0].field, ".spec.size");

  kubectl.force = true;
  auto forced = store_->patch(type_, "default", "web", PatchType::Apply, first, false, kubectl, nullptr);
  ASSERT_TRUE(forced.has_value()) << forced.error().message;
  EXPECT_EQ(forced.value()["spec"]["size"], 1);
  for (const json& entry : forced.value()["metadata"]["managedFields"]) {
    EXPECT_NE(entry["manager"], "kubectl-edit") << entry.dump();
  }
}

TEST_F(ObjectStoreTest, ServerSideApplyNeedsAFieldManagerAndMatchingName) {
  const std::string config =
      R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","metadata":{"name":"x"}})";
  auto noManager =
      store_->patch(type_, "default", "x", PatchType::Apply, config, false, WriteOptions{}, nullptr);
  ASSERT_FALSE(noManager.has_value());
  EXPECT_EQ(noManager.error().code, 422);
  WriteOptions options;
  options.fieldManager = "m";
  EXPECT_EQ(
      store_->patch(type_, "default", "y", PatchType::Apply, config, false, options, nullptr).error().code,
      400);
  EXPECT_EQ(
      store_->patch(type_, "default", "x", PatchType::Apply, "a: [", false, options, nullptr).error().code,
      400);
}

TEST_F(ObjectStoreTest, ServerSideApplyDryRunForDiff) {
  WriteOptions options;
  options.fieldManager = "kubectl";
  options.dryRun = true;
  auto dry = store_->patch(type_, "default", "web", PatchType::Apply,
                           R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","spec":{"a":1}})", false,
                           options, nullptr);
  ASSERT_TRUE(dry.has_value()) << dry.error().toStatus().dump();
  EXPECT_EQ(dry.value()["spec"]["a"], 1);
  EXPECT_EQ(store_->get(type_, "default", "web").error().code, 404);
}

TEST_F(ObjectStoreTest, StatusApplyTouchesOnlyStatus) {
  create(widget("web", {{"size", 1}}));
  WriteOptions options;
  options.fieldManager = "agent";
  auto applied = store_->patch(
      type_, "default", "web", PatchType::Apply,
      R"({"apiVersion":"example.virtsnap.io/v1","kind":"Widget","spec":{"size":7},"status":{"phase":"Ready"}})",
      true, options, nullptr);
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(applied.value()["spec"]["size"], 1);
  EXPECT_EQ(applied.value()["status"]["phase"], "Ready");
  EXPECT_EQ(applied.value()["metadata"]["generation"], 1);
}

TEST_F(ObjectStoreTest, WatchFromNowSendsExistingObjectsThenChanges) {
  create(widget("a"));
  auto watch = store_->watch(type_, "default", ListOptions{});
  ASSERT_TRUE(watch.has_value());
  auto first = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, meta::WatchEventType::Added);
  EXPECT_EQ(first->object["metadata"]["name"], "a");
  create(widget("b"));
  auto second = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->type, meta::WatchEventType::Added);
  EXPECT_EQ(second->object["metadata"]["name"], "b");
  ASSERT_TRUE(store_
                  ->patch(type_, "default", "b", PatchType::Merge, R"({"spec":{"x":1}})", false,
                          WriteOptions{}, nullptr)
                  .has_value());
  auto modified = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(modified);
  EXPECT_EQ(modified->type, meta::WatchEventType::Modified);
  ASSERT_TRUE(store_->remove(type_, "default", "b", json()).has_value());
  auto deleted = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->type, meta::WatchEventType::Deleted);
  EXPECT_EQ(deleted->object["metadata"]["resourceVersion"], std::to_string(store_->resourceVersion()));
  EXPECT_FALSE(watch.value()->next(std::chrono::milliseconds(10)));
  // Other namespaces and types are not seen.
  create(widget("c"), "kube-system");
  EXPECT_FALSE(watch.value()->next(std::chrono::milliseconds(10)));
}

TEST_F(ObjectStoreTest, WatchResumesFromAResourceVersion) {
  json a = create(widget("a"));
  create(widget("b"));
  create(widget("c"));
  auto watch = store_->watch(type_, "", fromVersion(rv(a)));
  ASSERT_TRUE(watch.has_value());
  std::vector<std::string> names;
  while (auto event = watch.value()->next(std::chrono::milliseconds(20))) {
    names.push_back(event->object["metadata"]["name"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"b", "c"}));
}

TEST_F(ObjectStoreTest, WatchFromBeforeTheHistoryIsExpired) {
  StoreOptions options;
  options.watch.historySize = 2;
  reopen(options);
  json a = create(widget("a"));
  create(widget("b"));
  create(widget("c"));
  create(widget("d"));
  auto watch = store_->watch(type_, "", fromVersion(rv(a)));
  ASSERT_FALSE(watch.has_value());
  EXPECT_EQ(watch.error().code, 410);
  EXPECT_EQ(watch.error().reason, "Expired");
  EXPECT_EQ(watch.error().message,
            "too old resource version: " + rv(a) + " (" + std::to_string(std::stoull(rv(a)) + 1) + ")");
}

TEST_F(ObjectStoreTest, WatchAfterRestartBelowTheNewHistoryIsExpired) {
  json a = create(widget("a"));
  create(widget("b"));
  reopen();
  auto watch = store_->watch(type_, "", fromVersion(rv(a)));
  ASSERT_FALSE(watch.has_value());
  EXPECT_EQ(watch.error().code, 410);
  auto current = store_->watch(type_, "", fromVersion(std::to_string(store_->resourceVersion())));
  EXPECT_TRUE(current.has_value());
}

TEST_F(ObjectStoreTest, WatchWithSelectorsSeesObjectsEnterAndLeave) {
  create(widget("a", {{"nodeName", "n1"}}));
  auto watch = store_->watch(type_, "default", selecting("", "spec.nodeName=n2"));
  ASSERT_TRUE(watch.has_value());
  EXPECT_FALSE(watch.value()->next(std::chrono::milliseconds(10)));
  ASSERT_TRUE(store_
                  ->patch(type_, "default", "a", PatchType::Merge, R"({"spec":{"nodeName":"n2"}})", false,
                          WriteOptions{}, nullptr)
                  .has_value());
  auto entered = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(entered);
  EXPECT_EQ(entered->type, meta::WatchEventType::Added);
  ASSERT_TRUE(store_
                  ->patch(type_, "default", "a", PatchType::Merge, R"({"spec":{"nodeName":"n3"}})", false,
                          WriteOptions{}, nullptr)
                  .has_value());
  auto left = watch.value()->next(std::chrono::milliseconds(100));
  ASSERT_TRUE(left);
  EXPECT_EQ(left->type, meta::WatchEventType::Deleted);
  EXPECT_EQ(left->object["spec"]["nodeName"], "n2");
  EXPECT_EQ(left->object["metadata"]["resourceVersion"], std::to_string(store_->resourceVersion()));
  EXPECT_EQ(store_->watch(type_, "", selecting("a in")).error().code, 400);
}

TEST_F(ObjectStoreTest, WatchSendsBookmarksWhenAsked) {
  StoreOptions options;
  options.watch.bookmarkInterval = std::chrono::milliseconds(20);
  reopen(options);
  auto watch = store_->watch(type_, "default", fromVersion("0", true));
  ASSERT_TRUE(watch.has_value());
  create(widget("x"), "kube-system");  // another namespace still moves the bookmark on
  auto bookmark = watch.value()->next(std::chrono::milliseconds(500));
  ASSERT_TRUE(bookmark);
  EXPECT_EQ(bookmark->type, meta::WatchEventType::Bookmark);
  EXPECT_EQ(bookmark->object["kind"], "Widget");
  EXPECT_EQ(bookmark->object["apiVersion"], "example.virtsnap.io/v1");
  EXPECT_EQ(bookmark->object["metadata"]["resourceVersion"], std::to_string(store_->resourceVersion()));
}

TEST_F(ObjectStoreTest, StoppedWatchEndsAndIsForgotten) {
  auto watch = store_->watch(type_, "", ListOptions{});
  ASSERT_TRUE(watch.has_value());
  EXPECT_EQ(store_->watchCount(), 1u);
  std::thread waiter([&] { EXPECT_FALSE(watch.value()->next(std::chrono::seconds(10))); });
  // Not a wait for a result: it only makes it likely that stop() finds next() blocked. A stop that
  // comes first is seen by next() at once, and every assertion holds either way.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  watch.value()->stop();
  waiter.join();
  EXPECT_TRUE(watch.value()->ended());
  EXPECT_EQ(store_->watchCount(), 0u);
}

TEST_F(ObjectStoreTest, ASlowWatcherDoesNotBlockWritersAndIsEndedWhenTooFarBehind) {
  StoreOptions options;
  options.watch.maxQueue = 10;
  reopen(options);
  auto slow = store_->watch(type_, "", ListOptions{});
  ASSERT_TRUE(slow.has_value());
  for (int i = 0; i < 20; ++i) {
    create(widget("w" + std::to_string(i)));
  }
  EXPECT_TRUE(slow.value()->ended());
  EXPECT_FALSE(slow.value()->next(std::chrono::milliseconds(1)));
}

TEST_F(ObjectStoreTest, ConcurrentWritersAndWatchersSeeEveryEventInOrder) {
  auto watch = store_->watch(type_, "", fromVersion(std::to_string(store_->resourceVersion())));
  ASSERT_TRUE(watch.has_value());
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto created =
            store_->create(type_, "default", widget("t" + std::to_string(t) + "-" + std::to_string(i)),
                           WriteOptions{}, nullptr);
        EXPECT_TRUE(created.has_value());
      }
    });
  }
  std::uint64_t last = 0;
  int seen = 0;
  while (seen < kThreads * kEach) {
    auto event = watch.value()->next(std::chrono::seconds(5));
    ASSERT_TRUE(event);
    std::uint64_t version = std::stoull(event->object["metadata"]["resourceVersion"].get<std::string>());
    EXPECT_GT(version, last);
    last = version;
    ++seen;
  }
  for (auto& writer : writers) {
    writer.join();
  }
}

TEST_F(ObjectStoreTest, RestartKeepsEverythingAndVersionsKeepIncreasing) {
  json a = create(widget("a", {{"size", 1}}));
  json b = create(widget("b"));
  ASSERT_TRUE(store_->remove(type_, "default", "b", json()).has_value());
  std::uint64_t before = store_->resourceVersion();
  reopen();
  EXPECT_EQ(store_->resourceVersion(), before);
  auto got = store_->get(type_, "default", "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got.value(), a);
  EXPECT_EQ(store_->get(type_, "default", "b").error().code, 404);
  json c = create(widget("c"));
  EXPECT_EQ(std::stoull(rv(c)), before + 1);
}

TEST_F(ObjectStoreTest, CompactionKeepsEverythingAcrossRestarts) {
  StoreOptions options;
  options.compactAfterBytes = 2000;
  reopen(options);
  for (int i = 0; i < 30; ++i) {
    create(widget("w" + std::to_string(i), {{"payload", std::string(100, 'x')}}));
  }
  ASSERT_TRUE(store_->remove(type_, "default", "w3", json()).has_value());
  // A write while a snapshot is being written starts no second compaction; the next one after does.
  store_->waitForCompaction();
  create(widget("last"));
  store_->waitForCompaction();
  EXPECT_LT(store_->logBytes(), 2000u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "snapshot.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "wal.old.log"));
  std::uint64_t before = store_->resourceVersion();
  reopen(options);
  EXPECT_EQ(store_->resourceVersion(), before);
  auto list = store_->list(type_, "default", ListOptions{});
  EXPECT_EQ(list.value()["items"].size(), 30u);
  EXPECT_EQ(store_->get(type_, "default", "w3").error().code, 404);
}

// The snapshot is written off the store's lock: while it is held up, writes, reads and watches go on,
// and what they wrote is there after a restart. (The inline write held every client up for it.)
TEST_F(ObjectStoreTest, WritesGoOnWhileACompactionWritesItsSnapshot) {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> compactions{0};
  StoreOptions options;
  options.compactAfterBytes = 2000;
  options.beforeSnapshotWrite = [&] {
    if (compactions++ == 0) {
      started.set_value();
      released.wait();
    }
  };
  reopen(options);
  std::future<void> writes = std::async(std::launch::async, [&] {
    for (int i = 0; i < 30; ++i) {
      create(widget("w" + std::to_string(i), {{"payload", std::string(100, 'x')}}));
    }
  });
  started.get_future().wait();
  // The first compaction is stuck before its write; the writer finishes its 30 creates regardless
  // (bounded: a store that wrote under its lock never would, and the snapshot is released anyway).
  const bool writerFinished = writes.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (writerFinished) {
    EXPECT_EQ(store_->list(type_, "default", ListOptions{}).value()["items"].size(), 30u);
  }
  release.set_value();
  writes.get();
  ASSERT_TRUE(writerFinished) << "the writes waited for the snapshot";
  store_->waitForCompaction();
  std::uint64_t before = store_->resourceVersion();
  reopen();
  EXPECT_EQ(store_->resourceVersion(), before);
  EXPECT_EQ(store_->list(type_, "default", ListOptions{}).value()["items"].size(), 30u);
}

// A crash after the snapshot is in place but before the old log is deleted: both are read back, the
// records the snapshot already holds are skipped, and the store is the one before the crash.
TEST_F(ObjectStoreTest, ACompactionCutOffBeforeDeletingTheOldLogLosesNothing) {
  std::filesystem::path saved = dir_.path().parent_path() / (dir_.path().filename().string() + "-old.log");
  StoreOptions options;
  options.compactAfterBytes = 1500;
  options.beforeSnapshotWrite = [&] {
    std::filesystem::copy_file(dir_.path() / "wal.old.log", saved,
                               std::filesystem::copy_options::overwrite_existing);
  };
  reopen(options);
  for (int i = 0; i < 8; ++i) {
    create(widget("w" + std::to_string(i), {{"payload", std::string(100, 'x')}}));
  }
  ASSERT_TRUE(store_->remove(type_, "default", "w0", json()).has_value());
  for (int i = 0; i < 12 && !std::filesystem::exists(saved); ++i) {
    create(widget("x" + std::to_string(i), {{"payload", std::string(100, 'x')}}));
  }
  store_->waitForCompaction();
  ASSERT_TRUE(std::filesystem::exists(saved)) << "no compaction ran";
  std::uint64_t before = store_->resourceVersion();
  auto expected = store_->list(type_, "default", ListOptions{}).value()["items"];
  store_.reset();
  std::filesystem::rename(saved, dir_.path() / "wal.old.log");
  reopen();
  EXPECT_EQ(store_->resourceVersion(), before);
  EXPECT_EQ(store_->list(type_, "default", ListOptions{}).value()["items"], expected);
  EXPECT_EQ(store_->get(type_, "default", "w0").error().code, 404);
}

TEST_F(ObjectStoreTest, CorruptLogFailsToOpenWithFileAndOffset) {
  create(widget("a"));
  create(widget("b"));
  store_.reset();
  std::filesystem::path log = dir_.path() / "wal.log";
  {
    std::fstream file(log, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(30);
    file.put('#');
  }
  auto opened = ObjectStore::open(dir_.path(), registry_, clock_.now());
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().find(log.string()), std::string::npos) << opened.error();
  EXPECT_NE(opened.error().find("corrupt record at offset 8"), std::string::npos) << opened.error();
}

TEST_F(ObjectStoreTest, TruncatedLogFailsToOpen) {
  create(widget("a"));
  store_.reset();
  std::filesystem::path log = dir_.path() / "wal.log";
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 3);
  auto opened = ObjectStore::open(dir_.path(), registry_, clock_.now());
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().find("truncated record at offset"), std::string::npos) << opened.error();
  EXPECT_NE(opened.error().find(log.string()), std::string::npos);
}

TEST_F(ObjectStoreTest, OpenThroughTheInterfaceFactory) {
  TempDir other;
  auto opened = ObjectStore::open(other.path(), registry_);
  ASSERT_TRUE(opened.has_value()) << opened.error();
  EXPECT_EQ(opened.value()->resourceVersion(), 4u);
}

}  // namespace
}  // namespace virtsnap::apiserver

namespace virtsnap::apiserver {
namespace {

// The store with the real CRDs and the real validator (schema_validator.cpp).
class DomainStoreTest : public ObjectStoreTest {
 protected:
  void SetUp() override {
    ObjectStoreTest::SetUp();
    const ServedResource* domains = registry_.findKind("virtsnap.io", "Domain");
    ASSERT_NE(domains, nullptr);
    type_ = *domains;
  }
  static json domain(json spec) {
    return json{{"apiVersion", "virtsnap.io/v1alpha1"},
                {"kind", "Domain"},
                {"metadata", {{"name", "web"}}},
                {"spec", std::move(spec)}};
  }
};

TEST_F(DomainStoreTest, SchemaViolationsAreInvalidWithCauses) {
  ApiError error = createError(domain({{"nodeName", "n1"}, {"vcpus", 0}}));
  EXPECT_EQ(error.code, 422);
  EXPECT_EQ(error.reason, "Invalid");
  ASSERT_FALSE(error.causes.empty());
  EXPECT_EQ(error.causes[0].field, "spec.vcpus");
  EXPECT_TRUE(error.message.starts_with("Domain.virtsnap.io \"web\" is invalid: spec.vcpus: "))
      << error.message;
}

TEST_F(DomainStoreTest, UnknownFieldsAreAStrictDecodingErrorOrAWarning) {
  ApiError error = createError(domain({{"nodeName", "n1"}, {"foo", 1}}));
  EXPECT_EQ(error.code, 400);
  EXPECT_EQ(error.message, "strict decoding error: unknown field \"spec.foo\"");
  WriteOptions warn;
  warn.fieldValidation = FieldValidation::Warn;
  std::vector<std::string> warnings;
  auto created = store_->create(type_, "default", domain({{"nodeName", "n1"}, {"foo", 1}}), warn, &warnings);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_FALSE(created.value()["spec"].contains("foo"));
  EXPECT_FALSE(warnings.empty());
}

TEST_F(DomainStoreTest, TransitionRulesSeeTheOldObject) {
  create(domain({{"nodeName", "n1"}}));
  auto moved = store_->patch(type_, "default", "web", PatchType::Merge, R"({"spec":{"nodeName":"n2"}})",
                             false, WriteOptions{}, nullptr);
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code, 422);
  EXPECT_NE(moved.error().message.find("nodeName is immutable"), std::string::npos) << moved.error().message;
}

}  // namespace
}  // namespace virtsnap::apiserver
