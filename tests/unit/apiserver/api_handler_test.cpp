// Routing, authentication, discovery, OpenAPI, Table output and fault injection of the API server's
// handler, on a mock store (the store's own semantics are tested against the real one elsewhere).

#include "controller/apiserver/api_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/apiserver/discovery.h"
#include "controller/apiserver/table.h"

namespace virtsnap::apiserver {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;

class MockStore : public ObjectStore {
 public:
  MOCK_METHOD(ApiResult<nlohmann::json>, create,
              (const ServedResource&, const std::string&, nlohmann::json, const WriteOptions&,
               std::vector<std::string>*),
              (override));
  MOCK_METHOD(ApiResult<nlohmann::json>, get, (const ServedResource&, const std::string&, const std::string&),
              (override));
  MOCK_METHOD(ApiResult<nlohmann::json>, list,
              (const ServedResource&, const std::string&, const ListOptions&), (override));
  MOCK_METHOD(ApiResult<nlohmann::json>, update,
              (const ServedResource&, const std::string&, const std::string&, nlohmann::json, bool,
               const WriteOptions&, std::vector<std::string>*),
              (override));
  MOCK_METHOD(ApiResult<nlohmann::json>, patch,
              (const ServedResource&, const std::string&, const std::string&, PatchType, const std::string&,
               bool, const WriteOptions&, std::vector<std::string>*),
              (override));
  MOCK_METHOD(ApiResult<nlohmann::json>, remove,
              (const ServedResource&, const std::string&, const std::string&, const nlohmann::json&),
              (override));
  MOCK_METHOD(ApiResult<std::shared_ptr<Watch>>, watch,
              (const ServedResource&, const std::string&, const ListOptions&), (override));
  MOCK_METHOD(std::uint64_t, resourceVersion, (), (const, override));
};

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest()
      : registry_(ResourceRegistry::load(std::string(VIRTSNAP_SOURCE_DIR) + "/crds").value()),
        handler_(registry_, store_, "secret") {}

  ApiResponse call(std::string method, std::string path, std::map<std::string, std::string> query = {},
                   std::map<std::string, std::string> headers = {}, std::string body = "") {
    headers.emplace("authorization", "Bearer secret");
    return handler_.handle(ApiRequest{std::move(method), std::move(path), std::move(query),
                                      std::move(headers), std::move(body)});
  }
  static nlohmann::json parsed(const ApiResponse& response) { return nlohmann::json::parse(response.body); }

  ResourceRegistry registry_;
  ::testing::StrictMock<MockStore> store_;
  ApiHandler handler_;
};

nlohmann::json domain(const std::string& name) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"name", name}, {"namespace", "vms"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
          {"spec", {{"nodeName", "worker-1"}}},
          {"status", {{"state", "Running"}, {"snapshotCount", 3}}}};
}

TEST_F(ApiHandlerTest, RequestsWithoutTheTokenAreUnauthorized) {
  ApiResponse response = handler_.handle(ApiRequest{"GET", "/version", {}, {}, ""});
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(parsed(response)["reason"], "Unauthorized");
  response = handler_.handle(ApiRequest{"GET", "/version", {}, {{"authorization", "Bearer wrong"}}, ""});
  EXPECT_EQ(response.status, 401);
}

TEST_F(ApiHandlerTest, DiscoveryListsTheGroupsAndResources) {
  EXPECT_EQ(parsed(call("GET", "/version"))["major"], "1");
  EXPECT_EQ(parsed(call("GET", "/api"))["versions"][0], "v1");
  nlohmann::json groups = parsed(call("GET", "/apis"));
  EXPECT_EQ(groups["kind"], "APIGroupList");
  EXPECT_THAT(groups.dump(), AllOf(HasSubstr("virtsnap.io/v1alpha1"), HasSubstr("coordination.k8s.io/v1")));
  nlohmann::json resources = parsed(call("GET", "/apis/virtsnap.io/v1alpha1"));
  EXPECT_EQ(resources["kind"], "APIResourceList");
  EXPECT_THAT(resources.dump(),
              AllOf(HasSubstr("\"domains\""), HasSubstr("\"domains/status\""), HasSubstr("\"snapshots\""),
                    HasSubstr("\"snapshotreverts\""), HasSubstr("\"dom\""), HasSubstr("\"virtsnap\"")));
  EXPECT_THAT(parsed(call("GET", "/api/v1")).dump(),
              AllOf(HasSubstr("\"namespaces\""), HasSubstr("\"events\"")));
}

TEST_F(ApiHandlerTest, AggregatedDiscoveryIsServedWhenAsked) {
  ApiResponse response = call("GET", "/apis", {}, {{"accept", kAggregatedDiscoveryType}});
  EXPECT_EQ(response.contentType, kAggregatedDiscoveryType);
  nlohmann::json list = parsed(response);
  EXPECT_EQ(list["kind"], "APIGroupDiscoveryList");
  EXPECT_THAT(list.dump(),
              AllOf(HasSubstr("\"resource\":\"domains\""), HasSubstr("\"subresource\":\"status\"")));
}

TEST_F(ApiHandlerTest, OpenApiV3HasTheCrdSchemasWithGroupVersionKind) {
  nlohmann::json index = parsed(call("GET", "/openapi/v3"));
  ASSERT_TRUE(index["paths"].contains("apis/virtsnap.io/v1alpha1"));
  const std::string url = index["paths"]["apis/virtsnap.io/v1alpha1"]["serverRelativeURL"];
  EXPECT_THAT(url, HasSubstr("?hash="));
  nlohmann::json document = parsed(call("GET", "/openapi/v3/apis/virtsnap.io/v1alpha1"));
  const nlohmann::json& schema = document["components"]["schemas"]["io.virtsnap.v1alpha1.Domain"];
  EXPECT_EQ(schema["x-kubernetes-group-version-kind"][0]["kind"], "Domain");
  EXPECT_TRUE(schema["properties"]["spec"]["properties"].contains("nodeName"));
  EXPECT_TRUE(document["components"]["schemas"].contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
}

TEST_F(ApiHandlerTest, ObjectPathsReachTheStoreWithTheirNamespaceNameAndSubresource) {
  EXPECT_CALL(store_, get(Field(&ServedResource::plural, "domains"), "vms", "web"))
      .WillOnce(Return(domain("web")));
  EXPECT_EQ(call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web").status, 200);

  EXPECT_CALL(store_, list(Field(&ServedResource::plural, "snapshots"), "", _))
      .WillOnce(Return(nlohmann::json{{"kind", "SnapshotList"}, {"items", nlohmann::json::array()}}));
  EXPECT_EQ(call("GET", "/apis/virtsnap.io/v1alpha1/snapshots").status, 200);

  EXPECT_CALL(store_, patch(_, "vms", "web", PatchType::Merge, "{}", /*status=*/true, _, _))
      .WillOnce(Return(domain("web")));
  EXPECT_EQ(call("PATCH", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web/status", {},
                 {{"content-type", "application/merge-patch+json"}}, "{}")
                .status,
            200);

  EXPECT_CALL(store_, get(Field(&ServedResource::plural, "namespaces"), "", "vms"))
      .WillOnce(Return(nlohmann::json{{"kind", "Namespace"}}));
  EXPECT_EQ(call("GET", "/api/v1/namespaces/vms").status, 200);
}

TEST_F(ApiHandlerTest, CreateAnswers201AndPassesWarnings) {
  EXPECT_CALL(store_, create(_, "vms", _, Field(&WriteOptions::fieldValidation, FieldValidation::Strict), _))
      .WillOnce([](auto&, auto&, nlohmann::json object, auto&, std::vector<std::string>* warnings) {
        warnings->push_back("unknown field \"spec.extra\"");
        return ApiResult<nlohmann::json>(object);
      });
  ApiResponse response =
      call("POST", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains", {{"fieldValidation", "Strict"}},
           {{"content-type", "application/json"}}, domain("web").dump());
  EXPECT_EQ(response.status, 201);
  ASSERT_EQ(response.warnings.size(), 1u);
}

TEST_F(ApiHandlerTest, StoreErrorsBecomeKubernetesStatusObjects) {
  ApiError notFound;
  notFound.code = 404;
  notFound.reason = "NotFound";
  notFound.message = "domains.virtsnap.io \"x\" not found";
  notFound.group = "virtsnap.io";
  notFound.kind = "domains";
  notFound.name = "x";
  EXPECT_CALL(store_, get(_, "vms", "x")).WillOnce(Return(notFound));
  ApiResponse response = call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/x");
  EXPECT_EQ(response.status, 404);
  nlohmann::json status = parsed(response);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["reason"], "NotFound");
  EXPECT_EQ(status["details"]["name"], "x");
}

TEST_F(ApiHandlerTest, UnknownPathsMethodsAndMediaTypesAreRefused) {
  EXPECT_EQ(call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/widgets").status, 404);
  EXPECT_EQ(call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web/scale").status, 404);
  EXPECT_EQ(call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/snapshotreverts/r/exec").status, 404);
  EXPECT_EQ(call("POST", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web").status, 405);
  EXPECT_EQ(call("PATCH", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web", {},
                 {{"content-type", "text/plain"}}, "x")
                .status,
            415);
  EXPECT_EQ(call("POST", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains", {}, {}, "{not json").status,
            400);
  // As kube's ValidateCreateOptions: 422 (kube ignores fieldValidation on reads).
  EXPECT_EQ(call("POST", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains", {{"fieldValidation", "Loose"}},
                 {}, "{}")
                .status,
            422);
}

TEST_F(ApiHandlerTest, TablesCarryThePrinterColumns) {
  EXPECT_CALL(store_, list(_, "vms", _))
      .WillOnce(Return(nlohmann::json{{"kind", "DomainList"},
                                      {"metadata", {{"resourceVersion", "7"}}},
                                      {"items", {domain("a"), domain("b")}}}));
  ApiResponse response = call("GET", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains", {},
                              {{"accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}});
  nlohmann::json table = parsed(response);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["metadata"]["resourceVersion"], "7");
  std::vector<std::string> names;
  for (const auto& column : table["columnDefinitions"]) {
    names.push_back(column["name"]);
  }
  EXPECT_THAT(names, ::testing::ElementsAre("Name", "Node", "State", "Current", "Snapshots", "Ready", "Age",
                                            "Hypervisor-Name"));
  ASSERT_EQ(table["rows"].size(), 2u);
  EXPECT_EQ(table["rows"][0]["cells"][0], "a");
  EXPECT_EQ(table["rows"][0]["cells"][1], "worker-1");
  EXPECT_EQ(table["rows"][0]["object"]["metadata"]["namespace"], "vms");
}

TEST_F(ApiHandlerTest, InjectedFaultsAnswerInsteadOfTheStore) {
  handler_.faults().add(Fault{"PUT", "/apis/virtsnap.io", false, 409, {}, false, 1});
  ApiResponse conflict =
      call("PUT", "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/web", {}, {}, domain("web").dump());
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(parsed(conflict)["reason"], "Conflict");
  handler_.faults().add(Fault{"", "/apis", false, 503, {}, false, 2});
  EXPECT_EQ(call("GET", "/apis").status, 503);
  EXPECT_EQ(call("GET", "/apis").status, 503);
  EXPECT_EQ(call("GET", "/apis").status, 200);  // counted down
  EXPECT_EQ(handler_.faults().injected(), 3);
}

// "Write done, answer lost": the store applies the write, and the client gets the fault instead of its
// answer (here a 500, then a dropped connection).
TEST_F(ApiHandlerTest, AnAfterAppliedFaultReplacesTheAnswerOfAWriteTheStoreMade) {
  EXPECT_CALL(store_, create(_, "vms", _, _, _)).WillOnce(Return(domain("web")));
  EXPECT_CALL(store_, remove(_, "vms", "web", _)).WillOnce(Return(domain("web")));
  Fault lost{"POST", "/apis/virtsnap.io", false, 500, {}, false, 1};
  lost.afterApplied = true;
  handler_.faults().add(lost);
  const std::string path = "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains";
  ApiResponse created = call("POST", path, {}, {}, domain("web").dump());
  EXPECT_EQ(created.status, 500);
  EXPECT_EQ(parsed(created)["reason"], "InternalError");
  Fault dropped{"DELETE", "/apis/virtsnap.io", false, 0, {}, true, 1};
  dropped.afterApplied = true;
  handler_.faults().add(dropped);
  EXPECT_EQ(call("DELETE", path + "/web").status, 0);  // the front end closes the connection
  EXPECT_EQ(handler_.faults().injected(), 2);
}

TEST_F(ApiHandlerTest, WritesAreCountedByVerbResourceSubresourceAndAnswer) {
  ApiError conflict;
  conflict.code = 409;
  conflict.reason = "Conflict";
  conflict.message = "the object has been modified";
  EXPECT_CALL(store_, create(_, "vms", _, _, _)).WillOnce(Return(domain("web")));
  EXPECT_CALL(store_, update(_, "vms", "web", _, true, _, _))
      .WillOnce(Return(conflict))
      .WillOnce(Return(domain("web")));
  EXPECT_CALL(store_, patch(_, "vms", "web", PatchType::Merge, _, false, _, _))
      .WillOnce(Return(domain("web")));
  EXPECT_CALL(store_, remove(_, "vms", "web", _)).WillOnce(Return(domain("web")));
  EXPECT_CALL(store_, get(_, "vms", "web")).WillOnce(Return(domain("web")));
  const std::string path = "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains";
  EXPECT_EQ(call("POST", path, {}, {}, domain("web").dump()).status, 201);
  EXPECT_EQ(call("PUT", path + "/web/status", {}, {}, domain("web").dump()).status, 409);
  EXPECT_EQ(call("PUT", path + "/web/status", {}, {}, domain("web").dump()).status, 200);
  EXPECT_EQ(call("PATCH", path + "/web", {}, {{"content-type", "application/merge-patch+json"}}, "{}").status,
            200);
  EXPECT_EQ(call("DELETE", path + "/web").status, 200);
  EXPECT_EQ(call("GET", path + "/web").status, 200);  // a read: not counted
  handler_.faults().add(Fault{"PUT", "/apis/virtsnap.io", false, 503, {}, false, 1});
  EXPECT_EQ(call("PUT", path + "/web", {}, {}, domain("web").dump()).status, 503);  // never reached the store

  const WriteCounts expected{{WriteKey{"create", "domains", "", 201}, 1},
                             {WriteKey{"delete", "domains", "", 200}, 1},
                             {WriteKey{"patch", "domains", "", 200}, 1},
                             {WriteKey{"update", "domains", "status", 200}, 1},
                             {WriteKey{"update", "domains", "status", 409}, 1}};
  EXPECT_EQ(handler_.writes().counts(), expected);

  // Every request that reached the route, reads too, by RBAC verb and whoever sent it; a fault is not one.
  const RequestCounts requests{{RequestKey{"", "virtsnap.io", "create", "domains", "", "vms"}, 1},
                               {RequestKey{"", "virtsnap.io", "delete", "domains", "", "vms"}, 1},
                               {RequestKey{"", "virtsnap.io", "get", "domains", "", "vms"}, 1},
                               {RequestKey{"", "virtsnap.io", "patch", "domains", "", "vms"}, 1},
                               {RequestKey{"", "virtsnap.io", "update", "domains", "status", "vms"}, 2}};
  EXPECT_EQ(handler_.requests().counts(), requests);
}

TEST_F(ApiHandlerTest, RequestsAreCountedByTheirSendersUserAgent) {
  ApiError notFound;
  notFound.code = 404;
  notFound.reason = "NotFound";
  notFound.message = "namespaces \"rbac-node\" not found";
  EXPECT_CALL(store_, get(_, "", "rbac-node")).WillOnce(Return(notFound));
  EXPECT_EQ(call("GET", "/api/v1/namespaces/rbac-node", {}, {{"user-agent", "virtsnap-controller"}}).status,
            404);
  const RequestCounts expected{{RequestKey{"virtsnap-controller", "", "get", "namespaces", "", ""}, 1}};
  EXPECT_EQ(handler_.requests().counts(), expected);
}

TEST(RequestVerb, IsRbacsVerbForTheMethodAndTheRoute) {
  EXPECT_EQ(requestVerb("GET", true, false), "get");
  EXPECT_EQ(requestVerb("GET", false, false), "list");
  EXPECT_EQ(requestVerb("GET", false, true), "watch");
  EXPECT_EQ(requestVerb("GET", true, true), "watch");  // a watch on one object (fieldSelector by name)
  EXPECT_EQ(requestVerb("POST", false, false), "create");
  EXPECT_EQ(requestVerb("PUT", true, false), "update");
  EXPECT_EQ(requestVerb("PATCH", true, false), "patch");
  EXPECT_EQ(requestVerb("DELETE", true, false), "delete");
  EXPECT_EQ(requestVerb("DELETE", false, false), "deletecollection");
  EXPECT_EQ(requestVerb("OPTIONS", true, false), "");
}

TEST_F(ApiHandlerTest, AnInjectedStatusCarriesTheReasonKubeGivesThatCode) {
  const std::vector<std::pair<int, std::string>> expected{
      {403, "Forbidden"},     {404, "NotFound"},           {422, "Invalid"}, {429, "TooManyRequests"},
      {500, "InternalError"}, {503, "ServiceUnavailable"}, {504, "Timeout"}, {418, "BadRequest"}};
  for (const auto& [status, reason] : expected) {
    handler_.faults().add(Fault{"GET", "/apis", false, status, {}, false, 1});
    ApiResponse answer = call("GET", "/apis");
    EXPECT_EQ(answer.status, status);
    EXPECT_EQ(parsed(answer)["reason"], reason) << status;
    EXPECT_EQ(parsed(answer)["code"], status);
  }
}

TEST(Table, HumanDurationsReadLikeKubectls) {
  using std::chrono::seconds;
  EXPECT_EQ(humanDuration(seconds(45)), "45s");
  EXPECT_EQ(humanDuration(seconds(200)), "3m20s");
  EXPECT_EQ(humanDuration(seconds(17 * 60)), "17m");
  EXPECT_EQ(humanDuration(seconds(5 * 3600 + 180)), "5h3m");
  EXPECT_EQ(humanDuration(seconds(30 * 3600)), "30h");
  EXPECT_EQ(humanDuration(seconds(52 * 3600)), "2d4h");
  EXPECT_EQ(humanDuration(seconds(400LL * 86400)), "400d");
  EXPECT_EQ(humanDuration(seconds(1115LL * 86400)), "3y20d");
}

TEST(Table, ColumnPathsSelectFieldsAndListItems) {
  const nlohmann::json object{{"spec", {{"disks", {{{"name", "vda"}}, {{"name", "vdb"}}}}}}};
  EXPECT_EQ(evaluateColumnPath(object, ".spec.disks[1].name"), "vdb");
  EXPECT_TRUE(evaluateColumnPath(object, ".spec.disks[7].name").is_null());
  EXPECT_TRUE(evaluateColumnPath(object, ".status.phase").is_null());
  EXPECT_TRUE(evaluateColumnPath(object, ".spec.disks[x]").is_null());
}

TEST(Table, ColumnPathFiltersPickTheFirstMatchingItem) {
  const nlohmann::json object{
      {"status",
       {{"conditions",
         {{{"type", "Reconciling"}, {"status", "True"}}, {{"type", "Ready"}, {"status", "False"}}}}}}};
  EXPECT_EQ(evaluateColumnPath(object, R"(.status.conditions[?(@.type=="Ready")].status)"), "False");
  EXPECT_EQ(evaluateColumnPath(object, ".status.conditions[?(@.type=='Reconciling')].status"), "True");
  EXPECT_TRUE(evaluateColumnPath(object, R"(.status.conditions[?(@.type=="Stalled")].status)").is_null());
  EXPECT_TRUE(evaluateColumnPath(object, R"(.status.conditions[?(@.type=Ready)].status)").is_null());
}

}  // namespace
}  // namespace virtsnap::apiserver
