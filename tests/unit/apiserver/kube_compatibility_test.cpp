// The embedded API server as clients written against kube-apiserver see it, through ApiHandler on a
// real store: query parameters read as kube's parameter codec and option validation read them,
// field selectors and Table columns of the built-in kinds, and the request-body limits.

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/utf8.h"
#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"
#include "controller/apiserver/validation/request_body.h"
#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kDomains = "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains";
constexpr const char* kEvents = "/api/v1/namespaces/vms/events";
constexpr const char* kTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

class KubeCompatibility : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = ResourceRegistry::load(std::filesystem::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::make_unique<ResourceRegistry>(std::move(loaded).value());
    auto opened = ObjectStore::open(dir_.path(), *registry_, clock_.now());
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<ApiHandler>(*registry_, *store_, "", clock_.now());
    ASSERT_EQ(call("POST", "/api/v1/namespaces", {}, R"({"apiVersion":"v1","kind":"Namespace",
                                                          "metadata":{"name":"vms"}})")
                  .status,
              201);
  }

  ApiResponse call(std::string method, std::string path, std::map<std::string, std::string> query = {},
                   std::string body = "", std::map<std::string, std::string> headers = {}) {
    if (!headers.count("content-type")) {
      headers["content-type"] = method == "PATCH" ? "application/merge-patch+json" : "application/json";
    }
    return handler_->handle(ApiRequest{std::move(method), std::move(path), std::move(query),
                                       std::move(headers), std::move(body)});
  }
  static json parsed(const ApiResponse& response) { return json::parse(response.body); }

  void createDomain(const std::string& name) {
    ASSERT_EQ(call("POST", kDomains, {},
                   R"({"apiVersion":"virtsnap.io/v1alpha1","kind":"Domain","metadata":{"name":")" + name +
                       R"("},"spec":{"nodeName":"worker-1"}})")
                  .status,
              201);
  }

  void createEvent(const std::string& name, json fields) {
    json event = {{"apiVersion", "v1"}, {"kind", "Event"}, {"metadata", {{"name", name}}}};
    event.update(fields);
    ApiResponse response = call("POST", kEvents, {}, event.dump());
    ASSERT_EQ(response.status, 201) << response.body;
  }

  std::vector<std::string> eventNames(const std::string& selector) {
    ApiResponse response = call("GET", kEvents, {{"fieldSelector", selector}});
    EXPECT_EQ(response.status, 200) << response.body;
    std::vector<std::string> names;
    const json list = parsed(response);
    for (const json& item : list["items"]) {
      names.push_back(item["metadata"]["name"]);
    }
    return names;
  }

  testsupport::TempDir dir_;
  testsupport::ManualWallClock clock_;
  std::unique_ptr<ResourceRegistry> registry_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<ApiHandler> handler_;
};

TEST_F(KubeCompatibility, BooleanParametersAreTrueUnlessAbsentZeroOrFalse) {
  // runtime.Convert_Slice_string_To_bool: the Python client sends watch=True.
  for (const char* value : {"True", "true", "TRUE", "1", "t", "yes", ""}) {
    ApiResponse response = call("GET", kDomains, {{"watch", value}});
    ASSERT_TRUE(response.watch) << "watch=" << value;
    response.watch->stop();
  }
  for (const char* value : {"False", "false", "FALSE", "0"}) {
    ApiResponse response = call("GET", kDomains, {{"watch", value}});
    EXPECT_FALSE(response.watch) << "watch=" << value;
    EXPECT_EQ(parsed(response)["kind"], "DomainList") << "watch=" << value;
  }
}

TEST_F(KubeCompatibility, IntegerParametersThatDoNotParseAreBadRequests) {
  EXPECT_EQ(call("GET", kDomains, {{"limit", "ten"}}).status, 400);
  EXPECT_EQ(call("GET", kDomains, {{"limit", "5x"}}).status, 400);
  EXPECT_EQ(call("GET", kDomains, {{"watch", "1"}, {"timeoutSeconds", "soon"}}).status, 400);
  EXPECT_EQ(call("GET", kDomains, {{"limit", "5"}}).status, 200);
}

TEST_F(KubeCompatibility, DryRunIsAllOrRefusedNeverAWriteForReal) {
  const std::string body =
      R"({"apiVersion":"virtsnap.io/v1alpha1","kind":"Domain","metadata":{"name":"d"},"spec":{"nodeName":"n"}})";
  ApiResponse refused = call("POST", kDomains, {{"dryRun", "true"}}, body);
  EXPECT_EQ(refused.status, 422);
  EXPECT_THAT(parsed(refused)["message"].get<std::string>(), HasSubstr("dryRun: Unsupported value"));
  EXPECT_EQ(call("POST", kDomains, {{"dryRun", "All"}}, body).status, 201);
  EXPECT_EQ(call("GET", std::string(kDomains) + "/d").status, 404);
}

TEST_F(KubeCompatibility, DeleteReadsItsOptionsFromTheQueryWithoutABody) {
  createDomain("d");
  EXPECT_EQ(call("DELETE", std::string(kDomains) + "/d", {{"dryRun", "All"}}).status, 200);
  EXPECT_EQ(call("GET", std::string(kDomains) + "/d").status, 200);  // a dry run deletes nothing
  EXPECT_EQ(call("DELETE", std::string(kDomains) + "/d", {{"propagationPolicy", "Sideways"}}).status, 422);
  EXPECT_EQ(call("DELETE", std::string(kDomains) + "/d", {{"gracePeriodSeconds", "x"}}).status, 400);
  EXPECT_EQ(call("DELETE", std::string(kDomains) + "/d", {{"propagationPolicy", "Background"}}).status, 200);
  EXPECT_EQ(call("GET", std::string(kDomains) + "/d").status, 404);
}

TEST_F(KubeCompatibility, ResourceVersionMatchIsValidatedAndServedAsKubeServesIt) {
  createDomain("d");
  const std::string current = std::to_string(store_->resourceVersion());
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersionMatch", "Exact"}}).status, 422);
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersionMatch", "Newest"}, {"resourceVersion", current}}).status,
            422);
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersionMatch", "Exact"}, {"resourceVersion", "0"}}).status, 422);
  EXPECT_EQ(call("GET", kDomains, {{"watch", "1"}, {"resourceVersionMatch", "NotOlderThan"}}).status, 422);
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersionMatch", "Exact"}, {"resourceVersion", current}}).status,
            200);
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersionMatch", "Exact"}, {"resourceVersion", "1"}}).status, 410);
  EXPECT_EQ(
      call("GET", kDomains, {{"resourceVersionMatch", "NotOlderThan"}, {"resourceVersion", "1"}}).status,
      200);
  ApiResponse tooLarge = call("GET", kDomains, {{"resourceVersion", "999999"}});
  EXPECT_EQ(tooLarge.status, 504);
  EXPECT_EQ(parsed(tooLarge)["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
  EXPECT_EQ(call("GET", kDomains, {{"resourceVersion", "abc"}}).status, 400);
}

TEST_F(KubeCompatibility, SendInitialEventsIsRefusedAsByAServerWithoutWatchList) {
  ApiResponse watch =
      call("GET", kDomains, {{"watch", "1"}, {"sendInitialEvents", "true"}, {"allowWatchBookmarks", "true"}});
  EXPECT_EQ(watch.status, 422);
  EXPECT_THAT(parsed(watch)["message"].get<std::string>(), HasSubstr("WatchList"));
  EXPECT_EQ(call("GET", kDomains, {{"sendInitialEvents", "false"}}).status, 422);
}

TEST_F(KubeCompatibility, ForceIsOnlyForApply) {
  createDomain("d");
  ApiResponse response = call("PATCH", std::string(kDomains) + "/d", {{"force", "true"}}, "{}");
  EXPECT_EQ(response.status, 422);
  EXPECT_THAT(parsed(response)["message"].get<std::string>(), HasSubstr("force"));
}

TEST_F(KubeCompatibility, TableRowsCarryWhatIncludeObjectAsks) {
  createDomain("d");
  json metadata = parsed(call("GET", kDomains, {}, "", {{"accept", kTable}}));
  EXPECT_EQ(metadata["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  json whole = parsed(call("GET", kDomains, {{"includeObject", "Object"}}, "", {{"accept", kTable}}));
  EXPECT_EQ(whole["rows"][0]["object"]["spec"]["nodeName"], "worker-1");  // kubectl --sort-by reads it
  json none = parsed(call("GET", kDomains, {{"includeObject", "None"}}, "", {{"accept", kTable}}));
  EXPECT_FALSE(none["rows"][0].contains("object"));
  EXPECT_EQ(call("GET", kDomains, {{"includeObject", "Everything"}}, "", {{"accept", kTable}}).status, 400);
}

TEST_F(KubeCompatibility, EventsAreSelectableByKubesEventFields) {
  createEvent("a", {{"involvedObject",
                     {{"kind", "Snapshot"},
                      {"namespace", "vms"},
                      {"name", "s1"},
                      {"uid", "u1"},
                      {"apiVersion", "virtsnap.io/v1alpha1"},
                      {"resourceVersion", "7"},
                      {"fieldPath", "spec.disks"}}},
                    {"reason", "DeletionBlocked"},
                    {"type", "Warning"},
                    {"source", {{"component", "virtsnap-agent"}}}});
  createEvent("b",
              {{"involvedObject", {{"kind", "Domain"}, {"namespace", "vms"}, {"name", "d1"}, {"uid", "u2"}}},
               {"reason", "Defined"},
               {"type", "Normal"},
               {"reportingComponent", "virtsnap-controller"}});
  // What kubectl describe sends.
  EXPECT_THAT(eventNames("involvedObject.name=s1,involvedObject.namespace=vms,involvedObject.kind=Snapshot,"
                         "involvedObject.uid=u1"),
              ElementsAre("a"));
  EXPECT_THAT(eventNames("involvedObject.apiVersion=virtsnap.io/v1alpha1"), ElementsAre("a"));
  EXPECT_THAT(eventNames("involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.disks"),
              ElementsAre("a"));
  EXPECT_THAT(eventNames("reason=Defined"), ElementsAre("b"));
  EXPECT_THAT(eventNames("type!=Normal"), ElementsAre("a"));
  EXPECT_THAT(eventNames("reportingComponent=virtsnap-controller"), ElementsAre("b"));
  // source is source.component, else reportingComponent.
  EXPECT_THAT(eventNames("source=virtsnap-agent"), ElementsAre("a"));
  EXPECT_THAT(eventNames("source=virtsnap-controller"), ElementsAre("b"));
  EXPECT_THAT(eventNames("metadata.name=b,metadata.namespace=vms"), ElementsAre("b"));
  ApiResponse unknown = call("GET", kEvents, {{"fieldSelector", "involvedObject.color=red"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(parsed(unknown)["message"].get<std::string>(),
              HasSubstr("field label not supported: involvedObject.color"));
}

TEST_F(KubeCompatibility, NamespacesAndLeasesHaveKubesSelectableFields) {
  json active = parsed(call("GET", "/api/v1/namespaces", {{"fieldSelector", "status.phase=Active"}}));
  EXPECT_FALSE(active["items"].empty());
  EXPECT_TRUE(
      parsed(call("GET", "/api/v1/namespaces", {{"fieldSelector", "status.phase=Terminating"}}))["items"]
          .empty());
  EXPECT_EQ(call("GET", "/api/v1/namespaces", {{"fieldSelector", "metadata.name=vms"}}).status, 200);
  // A Namespace has no namespace: kube refuses the label.
  EXPECT_EQ(call("GET", "/api/v1/namespaces", {{"fieldSelector", "metadata.namespace=vms"}}).status, 400);
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/vms/leases";
  EXPECT_EQ(call("GET", leases, {{"fieldSelector", "metadata.name=x"}}).status, 200);
  EXPECT_EQ(call("GET", leases, {{"fieldSelector", "spec.holderIdentity=x"}}).status, 400);
}

TEST_F(KubeCompatibility, BuiltInTablesHaveKubesColumns) {
  createEvent("e1", {{"involvedObject", {{"kind", "Snapshot"}, {"name", "s1"}, {"fieldPath", "spec"}}},
                     {"reason", "DeletionBlocked"},
                     {"type", "Warning"},
                     {"message", "  children depend on it \n"},
                     {"source", {{"component", "virtsnap-agent"}, {"host", "worker-1"}}},
                     {"firstTimestamp", "2023-11-14T21:13:20Z"},
                     {"lastTimestamp", "2023-11-14T22:12:20Z"},
                     {"count", 3}});
  // No timestamps but eventTime, no count, no name in the reference: kube's fallbacks.
  createEvent("e2", {{"involvedObject", {{"kind", "Node"}}},
                     {"eventTime", "2023-11-14T22:13:00.123456Z"},
                     {"reportingComponent", "virtsnap-controller"},
                     {"reportingInstance", "pod-1"}});
  json table = parsed(call("GET", kEvents, {}, "", {{"accept", kTable}}));
  std::vector<std::string> columns;
  for (const json& column : table["columnDefinitions"]) {
    columns.push_back(column["name"]);
  }
  EXPECT_THAT(columns, ElementsAre("Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                                   "First Seen", "Count", "Name"));
  EXPECT_EQ(table["rows"][0]["cells"], json::parse(R"(["60s","Warning","DeletionBlocked","snapshot/s1","spec",
      "virtsnap-agent, worker-1","children depend on it","60m",3,"e1"])"));
  // The eventTime's fraction counts (19.876 s ago), and kube's HumanDuration truncates to whole seconds.
  EXPECT_EQ(table["rows"][1]["cells"],
            json::parse(R"(["19s","","","node","","virtsnap-controller, pod-1","","19s",1,"e2"])"));

  json namespaces = parsed(call("GET", "/api/v1/namespaces/vms", {}, "", {{"accept", kTable}}));
  EXPECT_EQ(namespaces["columnDefinitions"][1]["name"], "Status");
  EXPECT_EQ(namespaces["rows"][0]["cells"][1], "Active");
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/vms/leases";
  ASSERT_EQ(call("POST", leases, {}, R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
      "metadata":{"name":"l"},"spec":{"holderIdentity":"worker-1"}})")
                .status,
            201);
  json lease = parsed(call("GET", leases, {}, "", {{"accept", kTable}}));
  EXPECT_EQ(lease["columnDefinitions"][1]["name"], "Holder");
  EXPECT_EQ(lease["rows"][0]["cells"][1], "worker-1");
  EXPECT_EQ(lease["columnDefinitions"][2]["name"], "Age");
}

TEST_F(KubeCompatibility, ABodyOverTheLimitIs413AndAServerFaultIsAStatus) {
  ApiResponse tooLarge = call("POST", kDomains, {}, std::string(kMaxRequestBodyBytes + 1, ' '));
  EXPECT_EQ(tooLarge.status, 413);
  EXPECT_EQ(parsed(tooLarge)["reason"], "RequestEntityTooLarge");
  ApiRequest flagged{"POST", kDomains, {}, {{"content-type", "application/json"}}, "{}"};
  flagged.bodyTooLarge = true;  // the front end stopped reading
  EXPECT_EQ(handler_->handle(flagged).status, 413);
}

TEST(RequestBody, Utf8AndNestingChecks) {
  EXPECT_TRUE(isValidUtf8("plain, \xc3\xa9t\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xff"));
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(jsonNestingExceeds(R"({"a":"[[[[[[[[[[","b":[1,[2]]})", 3));
  EXPECT_TRUE(jsonNestingExceeds(R"({"a":[[[1]]]})", 3));
  EXPECT_FALSE(jsonNestingExceeds(R"({"a":"\"[[[[","b":[[1]]})", 3));
  EXPECT_THAT(decodeJsonBody(std::string(2000, '[')).error(), HasSubstr("deeper than"));
}

}  // namespace
}  // namespace virtsnap::apiserver
