// The REST client against the real embedded API server (ApiHandler + ObjectStore, CRDs from crds/)
// through the in-process transport, plus request building and answer decoding on a scripted transport.

#include "controller/kube/rest_client.h"

#include <deque>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/kube/status_error.h"
#include "crds/domain.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/fake_clock.h"
#include "tests/support/in_process_transport.h"

namespace virtsnap::kube {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;

const meta::ResourceType& domains() {
  return meta::Resource<crds::Domain>::type();
}

json domain(const std::string& name, const std::string& node = "worker-1", json labels = json::object()) {
  return json{{"apiVersion", "virtsnap.io/v1alpha1"},
              {"kind", "Domain"},
              {"metadata", {{"name", name}, {"namespace", "vms"}, {"labels", std::move(labels)}}},
              {"spec", {{"nodeName", node}}}};
}

std::string rv(const json& object) {
  return object["metadata"]["resourceVersion"].get<std::string>();
}

class RestClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-rest";
    options.token = "s3cret";
    options.store.watch.bookmarkInterval = std::chrono::milliseconds(20);
    options.store.watch.historySize = 8;
    clock_ = std::make_shared<testsupport::FakeClock>();
    options.client.clock = clock_;
    options.namespaces = {"vms"};
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    client_ = api_->client();
    transport_ = api_->transport();
  }

  void TearDown() override {
    client_.reset();
    transport_.reset();
    api_.reset();
  }

  json mustCreate(const json& object) {
    auto created = client_->create(domains(), object, {});
    EXPECT_TRUE(created.has_value()) << (created.has_value() ? "" : created.error().describe());
    return created.has_value() ? created.value() : json();
  }

  // The next event, failing the test when the stream ends or breaks instead.
  static WatchEvent nextEvent(WatchStream& stream) {
    auto event = stream.next();
    EXPECT_TRUE(event.has_value()) << (event.has_value() ? "" : event.error().describe());
    if (!event.has_value() || !event.value()) {
      ADD_FAILURE() << "the watch ended";
      return WatchEvent{WatchEventType::Error, json()};
    }
    return *event.value();
  }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::shared_ptr<testsupport::InProcessTransport> transport_;
  std::shared_ptr<testsupport::FakeClock> clock_;
  std::shared_ptr<RestClient> client_;
};

TEST_F(RestClientTest, CreatesGetsAndListsWithSelectors) {
  const json created = mustCreate(domain("web-1", "worker-1", {{"app", "web"}}));
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ(created["spec"]["vcpus"], 1);  // the CRD's default, applied by the server
  mustCreate(domain("web-2", "worker-2", {{"app", "web"}}));
  mustCreate(domain("db-1", "worker-1", {{"app", "db"}}));

  auto got = client_->get(domains(), "vms", "web-1");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(got.value()["metadata"]["uid"], created["metadata"]["uid"]);

  auto names = [](const json& list) {
    std::set<std::string> out;
    for (const json& item : list["items"]) {
      out.insert(item["metadata"]["name"].get<std::string>());
    }
    return out;
  };
  ListOptions byLabel;
  byLabel.labelSelector = "app=web";
  auto web = client_->list(domains(), "vms", byLabel);
  ASSERT_TRUE(web.has_value()) << web.error().describe();
  EXPECT_EQ(names(web.value()), (std::set<std::string>{"web-1", "web-2"}));

  ListOptions byNode;
  byNode.fieldSelector = "spec.nodeName=worker-1";
  auto onNode = client_->list(domains(), "", byNode);  // all namespaces
  ASSERT_TRUE(onNode.has_value()) << onNode.error().describe();
  EXPECT_EQ(names(onNode.value()), (std::set<std::string>{"db-1", "web-1"}));
  EXPECT_FALSE(onNode.value()["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(RestClientTest, ListsPageByPageWithLimitAndContinue) {
  for (int i = 0; i < 5; ++i) {
    mustCreate(domain("d" + std::to_string(i)));
  }
  ListOptions page;
  page.limit = 2;
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    auto list = client_->list(domains(), "vms", page);
    ASSERT_TRUE(list.has_value()) << list.error().describe();
    ++pages;
    EXPECT_LE(list.value()["items"].size(), 2U);
    for (const json& item : list.value()["items"]) {
      seen.push_back(item["metadata"]["name"].get<std::string>());
    }
    page.continueToken = list.value()["metadata"].value("continue", "");
    if (page.continueToken.empty()) {
      break;
    }
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("d0", "d1", "d2", "d3", "d4"));
}

TEST_F(RestClientTest, UpdateWithAStaleResourceVersionIsConflict) {
  json created = mustCreate(domain("web-1"));
  json changed = created;
  changed["spec"]["vcpus"] = 2;
  auto updated = client_->update(domains(), changed, {});
  ASSERT_TRUE(updated.has_value()) << updated.error().describe();
  EXPECT_NE(rv(updated.value()), rv(created));
  EXPECT_EQ(updated.value()["metadata"]["generation"], 2);

  json stale = created;  // still carries the first resourceVersion
  stale["spec"]["vcpus"] = 3;
  auto conflict = client_->update(domains(), stale, {});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(conflict.error().httpStatus, 409);
  EXPECT_EQ(conflict.error().reason, "Conflict");
  EXPECT_FALSE(conflict.error().retryable());
}

TEST_F(RestClientTest, UpdateStatusWritesOnlyTheStatus) {
  json created = mustCreate(domain("web-1"));
  json withStatus = created;
  withStatus["status"] = {{"observedGeneration", 1}};
  withStatus["spec"]["vcpus"] = 8;  // ignored by /status
  auto written = client_->updateStatus(domains(), withStatus, {});
  ASSERT_TRUE(written.has_value()) << written.error().describe();
  EXPECT_EQ(written.value()["status"]["observedGeneration"], 1);
  EXPECT_EQ(written.value()["spec"]["vcpus"], 1);
  EXPECT_EQ(written.value()["metadata"]["generation"], 1);
}

TEST_F(RestClientTest, CreatingTwiceIsAlreadyExists) {
  mustCreate(domain("web-1"));
  auto again = client_->create(domains(), domain("web-1"), {});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().kind, ErrorKind::AlreadyExists);
  EXPECT_EQ(again.error().httpStatus, 409);
}

TEST_F(RestClientTest, AnInvalidObjectIsInvalidWithCausesNamingTheField) {
  json bad = domain("web-1");
  bad["spec"]["vcpus"] = 0;
  auto refused = client_->create(domains(), bad, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);
  EXPECT_EQ(refused.error().httpStatus, 422);
  ASSERT_FALSE(refused.error().causes.empty());
  EXPECT_EQ(refused.error().causes.front().field, "spec.vcpus");
  EXPECT_THAT(refused.error().describe(), HasSubstr("spec.vcpus"));
}

TEST_F(RestClientTest, StrictFieldValidationRefusesUnknownFields) {
  json unknown = domain("web-1");
  unknown["spec"]["colour"] = "blue";
  WriteOptions strict;
  strict.fieldValidation = "Strict";
  auto refused = client_->create(domains(), unknown, strict);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().describe(), HasSubstr("colour"));
  WriteOptions ignore;
  ignore.fieldValidation = "Ignore";
  auto pruned = client_->create(domains(), unknown, ignore);
  ASSERT_TRUE(pruned.has_value()) << pruned.error().describe();
  EXPECT_FALSE(pruned.value()["spec"].contains("colour"));
}

TEST_F(RestClientTest, AMissingObjectIsNotFound) {
  auto missing = client_->get(domains(), "vms", "nothing-here");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.error().httpStatus, 404);
  auto gone = client_->remove(domains(), "vms", "nothing-here", {});
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::NotFound);
}

TEST_F(RestClientTest, PatchesWithMergeJsonAndApply) {
  mustCreate(domain("web-1"));
  auto merged = client_->patch(domains(), "vms", "web-1", PatchType::Merge,
                               R"({"metadata":{"labels":{"tier":"front"}}})", {});
  ASSERT_TRUE(merged.has_value()) << merged.error().describe();
  EXPECT_EQ(merged.value()["metadata"]["labels"]["tier"], "front");

  auto jsonPatched = client_->patch(domains(), "vms", "web-1", PatchType::Json,
                                    R"([{"op":"replace","path":"/spec/vcpus","value":4}])", {});
  ASSERT_TRUE(jsonPatched.has_value()) << jsonPatched.error().describe();
  EXPECT_EQ(jsonPatched.value()["spec"]["vcpus"], 4);

  auto failedTest = client_->patch(domains(), "vms", "web-1", PatchType::Json,
                                   R"([{"op":"test","path":"/spec/vcpus","value":5}])", {});
  ASSERT_FALSE(failedTest.has_value());

  PatchOptions apply;
  apply.fieldManager = "virtsnap-test";
  const std::string applied =
      "apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: web-2\n"
      "  namespace: vms\nspec:\n  nodeName: worker-3\n  vcpus: 2\n";
  auto created = client_->patch(domains(), "vms", "web-2", PatchType::Apply, applied, apply);
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  EXPECT_EQ(created.value()["spec"]["nodeName"], "worker-3");
  bool managed = false;
  for (const json& entry : created.value()["metadata"]["managedFields"]) {
    managed = managed || entry["manager"] == "virtsnap-test";
  }
  EXPECT_TRUE(managed);

  PatchOptions status;
  status.subresource = "status";
  auto statusPatched = client_->patch(domains(), "vms", "web-2", PatchType::Merge,
                                      R"({"status":{"observedGeneration":1}})", status);
  ASSERT_TRUE(statusPatched.has_value()) << statusPatched.error().describe();
  EXPECT_EQ(statusPatched.value()["status"]["observedGeneration"], 1);
}

TEST_F(RestClientTest, ApplyWithoutAFieldManagerIsRefusedBeforeSending) {
  const int before = transport_->requests();
  auto refused = client_->patch(domains(), "vms", "web-1", PatchType::Apply, "{}", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(transport_->requests(), before);
}

TEST_F(RestClientTest, DeleteWaitsForFinalizersAndHonoursPreconditions) {
  json object = domain("web-1");
  object["metadata"]["finalizers"] = {"virtsnap.io/cleanup"};
  const json created = mustCreate(object);

  DeleteOptions wrongUid;
  wrongUid.preconditionUid = "not-the-uid";
  auto refused = client_->remove(domains(), "vms", "web-1", wrongUid);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Conflict);

  DeleteOptions rightUid;
  rightUid.preconditionUid = created["metadata"]["uid"].get<std::string>();
  rightUid.propagationPolicy = "Background";
  auto deleting = client_->remove(domains(), "vms", "web-1", rightUid);
  ASSERT_TRUE(deleting.has_value()) << deleting.error().describe();
  EXPECT_TRUE(deleting.value()["metadata"].contains("deletionTimestamp"));
  auto stillThere = client_->get(domains(), "vms", "web-1");
  ASSERT_TRUE(stillThere.has_value());

  auto released = client_->patch(domains(), "vms", "web-1", PatchType::Json,
                                 R"([{"op":"remove","path":"/metadata/finalizers"}])", {});
  ASSERT_TRUE(released.has_value()) << released.error().describe();
  auto afterwards = client_->get(domains(), "vms", "web-1");
  ASSERT_FALSE(afterwards.has_value());
  EXPECT_EQ(afterwards.error().kind, ErrorKind::NotFound);
}

TEST_F(RestClientTest, InjectedServerErrorsAreRetryable) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/virtsnap.io", false, 500, {}, false, 1});
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/virtsnap.io", false, 503, {}, false, 1});
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/virtsnap.io", false, 429, {}, false, 1});

  auto internal = client_->list(domains(), "vms", {});
  ASSERT_FALSE(internal.has_value());
  EXPECT_EQ(internal.error().kind, ErrorKind::ServerError);
  EXPECT_EQ(internal.error().httpStatus, 500);
  EXPECT_TRUE(internal.error().retryable());

  auto unavailable = client_->list(domains(), "vms", {});
  ASSERT_FALSE(unavailable.has_value());
  EXPECT_EQ(unavailable.error().kind, ErrorKind::ServerError);
  EXPECT_EQ(unavailable.error().httpStatus, 503);
  EXPECT_EQ(unavailable.error().retryAfter, std::chrono::seconds(1));
  EXPECT_TRUE(unavailable.error().retryable());

  auto throttled = client_->list(domains(), "vms", {});
  ASSERT_FALSE(throttled.has_value());
  EXPECT_EQ(throttled.error().kind, ErrorKind::TooManyRequests);
  EXPECT_TRUE(throttled.error().retryable());

  EXPECT_TRUE(client_->list(domains(), "vms", {}).has_value());
}

TEST_F(RestClientTest, AnInjectedConflictReachesTheCallerAsConflict) {
  json created = mustCreate(domain("web-1"));
  api_->handler().faults().add(apiserver::Fault{"PUT", "/apis/virtsnap.io", false, 409, {}, false, 1});
  auto conflict = client_->update(domains(), created, {});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().kind, ErrorKind::Conflict);
}

TEST_F(RestClientTest, ADroppedConnectionIsANetworkError) {
  api_->handler().faults().add(apiserver::Fault{"", "/apis/", false, 0, {}, true, 1});
  auto dropped = client_->get(domains(), "vms", "web-1");
  ASSERT_FALSE(dropped.has_value());
  EXPECT_EQ(dropped.error().kind, ErrorKind::Network);
  EXPECT_EQ(dropped.error().httpStatus, 0);
  EXPECT_TRUE(dropped.error().retryable());
}

TEST_F(RestClientTest, AWrongTokenIsUnauthorized) {
  auto stranger = std::make_shared<testsupport::InProcessTransport>(api_->handler(), "wrong");
  RestClient client(stranger);
  auto refused = client.list(domains(), "vms", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Unauthorized);
  EXPECT_FALSE(refused.error().retryable());
}

TEST_F(RestClientTest, WatchDeliversAddedModifiedAndDeletedInOrder) {
  auto list = client_->list(domains(), "vms", {});
  ASSERT_TRUE(list.has_value());
  ListOptions from;
  from.resourceVersion = list.value()["metadata"]["resourceVersion"].get<std::string>();
  auto opened = client_->watch(domains(), "vms", from);
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  WatchStream& stream = *opened.value();

  json created = mustCreate(domain("web-1"));
  created["spec"]["vcpus"] = 2;
  ASSERT_TRUE(client_->update(domains(), created, {}).has_value());
  ASSERT_TRUE(client_->remove(domains(), "vms", "web-1", {}).has_value());

  WatchEvent added = nextEvent(stream);
  EXPECT_EQ(added.type, WatchEventType::Added);
  EXPECT_EQ(added.object["metadata"]["name"], "web-1");
  WatchEvent modified = nextEvent(stream);
  EXPECT_EQ(modified.type, WatchEventType::Modified);
  EXPECT_EQ(modified.object["spec"]["vcpus"], 2);
  WatchEvent deleted = nextEvent(stream);
  EXPECT_EQ(deleted.type, WatchEventType::Deleted);
  EXPECT_GT(std::stoull(rv(deleted.object)), std::stoull(rv(modified.object)));
}

TEST_F(RestClientTest, WatchFiltersWithAFieldSelector) {
  ListOptions onNode;
  onNode.fieldSelector = "spec.nodeName=worker-2";
  onNode.resourceVersion = std::to_string(api_->store().resourceVersion());
  auto opened = client_->watch(domains(), "", onNode);
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  mustCreate(domain("elsewhere", "worker-1"));
  mustCreate(domain("here", "worker-2"));
  WatchEvent event = nextEvent(*opened.value());
  EXPECT_EQ(event.type, WatchEventType::Added);
  EXPECT_EQ(event.object["metadata"]["name"], "here");
}

TEST_F(RestClientTest, WatchSendsBookmarksWhenAsked) {
  mustCreate(domain("web-1"));
  ListOptions bookmarks;
  bookmarks.allowWatchBookmarks = true;
  bookmarks.resourceVersion = std::to_string(api_->store().resourceVersion());
  auto opened = client_->watch(domains(), "vms", bookmarks);
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  WatchEvent bookmark = nextEvent(*opened.value());  // the store sends one after 20 ms of quiet
  EXPECT_EQ(bookmark.type, WatchEventType::Bookmark);
  EXPECT_EQ(rv(bookmark.object), std::to_string(api_->store().resourceVersion()));
  EXPECT_EQ(bookmark.object["kind"], "Domain");
}

TEST_F(RestClientTest, WatchingFromAVersionOlderThanTheHistoryIsGone) {
  for (int i = 0; i < 12; ++i) {  // the store keeps 8 events
    mustCreate(domain("d" + std::to_string(i)));
  }
  ListOptions tooOld;
  tooOld.resourceVersion = "2";
  auto opened = client_->watch(domains(), "vms", tooOld);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().kind, ErrorKind::Gone);
  EXPECT_EQ(opened.error().httpStatus, 410);
}

TEST_F(RestClientTest, AnInjected410OnAWatchIsGone) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", true, 410, {}, false, 1});
  EXPECT_TRUE(client_->list(domains(), "vms", {}).has_value());  // watchOnly: a list passes
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().kind, ErrorKind::Gone);
  EXPECT_FALSE(opened.error().retryable());
}

TEST_F(RestClientTest, CancelEndsABlockedWatchFromAnotherThread) {
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  WatchStream& stream = *opened.value();
  std::optional<KubeResult<std::optional<WatchEvent>>> result;
  std::thread consumer([&] { result.emplace(stream.next()); });
  stream.cancel();
  consumer.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_FALSE(result->value().has_value());
  EXPECT_TRUE(stream.next().has_value());  // and it stays ended
}

TEST_F(RestClientTest, ABrokenWatchStreamIsANetworkError) {
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  transport_->breakStreams();
  auto broken = opened.value()->next();
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().kind, ErrorKind::Network);
  auto after = opened.value()->next();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after.value().has_value());
}

TEST_F(RestClientTest, ADroppedWatchRequestBreaksTheStream) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", true, 0, {}, true, 1});
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  auto broken = opened.value()->next();
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().kind, ErrorKind::Network);
}

TEST_F(RestClientTest, TheLimiterSpacesRequestsOnTheClock) {
  RestClientOptions limited;
  limited.qps = 10;
  limited.burst = 2;
  limited.clock = clock_;
  RestClient client(transport_, limited);
  const int before = transport_->requests();
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(client.get(domains(), "vms", "missing").has_value());
  }
  std::vector<std::chrono::milliseconds> sleeps;
  for (auto sleep : clock_->sleeps()) {
    sleeps.push_back(std::chrono::round<std::chrono::milliseconds>(sleep));
  }
  using std::chrono::milliseconds;
  EXPECT_THAT(sleeps, ElementsAre(milliseconds(100), milliseconds(100), milliseconds(100)));
  EXPECT_EQ(transport_->requests() - before, 5);
}

// A transport that records requests and answers from a script.
class ScriptedTransport final : public Transport {
 public:
  KubeResult<RestResponse> send(const RestRequest& request) override {
    sent.push_back(request);
    if (answers.empty()) {
      return RestResponse{200, "{}", {}};
    }
    RestResponse answer = answers.front();
    answers.pop_front();
    return answer;
  }
  KubeResult<LineStreamPtr> stream(const RestRequest& request) override {
    sent.push_back(request);
    return LineStreamPtr(std::make_unique<Lines>(lines));
  }

  class Lines final : public LineStream {
   public:
    explicit Lines(std::deque<std::string> lines) : lines_(std::move(lines)) {}
    KubeResult<std::optional<std::string>> next() override {
      if (lines_.empty()) {
        return std::optional<std::string>();
      }
      std::string line = lines_.front();
      lines_.pop_front();
      return std::optional<std::string>(line);
    }
    void cancel() override {}

   private:
    std::deque<std::string> lines_;
  };

  std::vector<RestRequest> sent;
  std::deque<RestResponse> answers;
  std::deque<std::string> lines;
};

class RestRequests : public ::testing::Test {
 protected:
  RestRequests() {
    RestClientOptions options;
    options.qps = 0;
    options.userAgent = "virtsnap-test/1";
    options.timeout = std::chrono::milliseconds(1500);
    options.watchTimeout = std::chrono::seconds(300);
    client_ = std::make_unique<RestClient>(transport_, options);
  }
  std::shared_ptr<ScriptedTransport> transport_ = std::make_shared<ScriptedTransport>();
  std::unique_ptr<RestClient> client_;
};

TEST_F(RestRequests, ListCarriesEveryOptionAndTheCallsDeadline) {
  ListOptions options;
  options.labelSelector = "app=web";
  options.fieldSelector = "spec.nodeName=worker-1";
  options.limit = 50;
  options.continueToken = "abc";
  options.resourceVersion = "0";
  options.resourceVersionMatch = "NotOlderThan";
  ASSERT_TRUE(client_->list(domains(), "vms", options).has_value());
  const RestRequest& sent = transport_->sent.at(0);
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.path, "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains");
  EXPECT_THAT(sent.query,
              ElementsAre(Pair("labelSelector", "app=web"), Pair("fieldSelector", "spec.nodeName=worker-1"),
                          Pair("limit", "50"), Pair("continue", "abc"), Pair("resourceVersion", "0"),
                          Pair("resourceVersionMatch", "NotOlderThan")));
  EXPECT_EQ(sent.headers.at("user-agent"), "virtsnap-test/1");
  EXPECT_EQ(sent.headers.at("accept"), "application/json");
  EXPECT_EQ(sent.timeout, std::chrono::milliseconds(1500));
}

TEST_F(RestRequests, WritesCarryTheirBodiesContentTypesAndQueries) {
  WriteOptions write;
  write.fieldManager = "agent";
  write.fieldValidation = "Strict";
  ASSERT_TRUE(client_->create(domains(), domain("a"), write).has_value());
  ASSERT_TRUE(client_->updateStatus(domains(), domain("a"), {}).has_value());
  PatchOptions apply;
  apply.fieldManager = "agent";
  apply.force = true;
  ASSERT_TRUE(client_->patch(domains(), "vms", "a", PatchType::Apply, "x: 1", apply).has_value());
  ASSERT_TRUE(client_->patch(domains(), "vms", "a", PatchType::Json, "[]", {}).has_value());
  ASSERT_TRUE(
      client_->patch(domains(), "vms", "a", PatchType::Merge, "{}", {"", false, "status"}).has_value());
  DeleteOptions remove;
  remove.preconditionResourceVersion = "42";
  remove.propagationPolicy = "Foreground";
  ASSERT_TRUE(client_->remove(meta::resources::namespaces(), "", "vms", remove).has_value());

  ASSERT_EQ(transport_->sent.size(), 6U);
  const auto& create = transport_->sent[0];
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.path, "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains");
  EXPECT_EQ(create.contentType, "application/json");
  EXPECT_EQ(json::parse(create.body), domain("a"));
  EXPECT_THAT(create.query, ElementsAre(Pair("fieldManager", "agent"), Pair("fieldValidation", "Strict")));
  EXPECT_EQ(transport_->sent[1].method, "PUT");
  EXPECT_EQ(transport_->sent[1].path, "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/a/status");
  EXPECT_EQ(transport_->sent[2].method, "PATCH");
  EXPECT_EQ(transport_->sent[2].contentType, "application/apply-patch+yaml");
  EXPECT_THAT(transport_->sent[2].query, ElementsAre(Pair("fieldManager", "agent"), Pair("force", "true")));
  EXPECT_EQ(transport_->sent[3].contentType, "application/json-patch+json");
  EXPECT_EQ(transport_->sent[4].contentType, "application/merge-patch+json");
  EXPECT_EQ(transport_->sent[4].path, "/apis/virtsnap.io/v1alpha1/namespaces/vms/domains/a/status");
  const auto& del = transport_->sent[5];
  EXPECT_EQ(del.method, "DELETE");
  EXPECT_EQ(del.path, "/api/v1/namespaces/vms");
  EXPECT_EQ(json::parse(del.body), (json{{"kind", "DeleteOptions"},
                                         {"apiVersion", "v1"},
                                         {"preconditions", {{"resourceVersion", "42"}}},
                                         {"propagationPolicy", "Foreground"}}));
}

TEST_F(RestRequests, ObjectsWithoutNamesOrNamespacesAreRefusedBeforeSending) {
  json noNamespace = domain("a");
  noNamespace["metadata"].erase("namespace");
  EXPECT_EQ(client_->create(domains(), noNamespace, {}).error().kind, ErrorKind::BadRequest);
  json noName = domain("a");
  noName["metadata"].erase("name");
  EXPECT_EQ(client_->update(domains(), noName, {}).error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(client_->get(domains(), "vms", "").error().kind, ErrorKind::BadRequest);
  EXPECT_TRUE(transport_->sent.empty());
}

TEST_F(RestRequests, WatchAsksForBookmarksAndTheDefaultServerTimeout) {
  ListOptions options;
  options.resourceVersion = "17";
  options.allowWatchBookmarks = true;
  ASSERT_TRUE(client_->watch(domains(), "vms", options).has_value());
  EXPECT_THAT(transport_->sent.at(0).query,
              ElementsAre(Pair("watch", "true"), Pair("resourceVersion", "17"),
                          Pair("allowWatchBookmarks", "true"), Pair("timeoutSeconds", "300")));
  options.timeoutSeconds = 60;
  ASSERT_TRUE(client_->watch(domains(), "vms", options).has_value());
  EXPECT_EQ(transport_->sent.at(1).query.back(),
            (std::pair<std::string, std::string>("timeoutSeconds", "60")));
}

TEST_F(RestRequests, AnAnswerThatIsNotJsonIsADecodeError) {
  transport_->answers.push_back(RestResponse{200, "<html>hello</html>", {}});
  auto answer = client_->get(domains(), "vms", "a");
  ASSERT_FALSE(answer.has_value());
  EXPECT_EQ(answer.error().kind, ErrorKind::Decode);
  EXPECT_THAT(answer.error().message, HasSubstr("<html>hello"));
}

TEST_F(RestRequests, WatchLinesBecomeEventsAndAnErrorEventEndsTheStream) {
  transport_->lines = {
      R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})",
      "",
      R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})",
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired","message":"too old resource version: 5, now 9"}})",
      R"({"type":"ADDED","object":{"metadata":{"name":"never-read"}}})",
  };
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_TRUE(opened.has_value());
  WatchStream& stream = *opened.value();
  auto added = stream.next();
  ASSERT_TRUE(added.has_value() && added.value());
  EXPECT_EQ(added.value()->type, WatchEventType::Added);
  EXPECT_EQ(added.value()->object["metadata"]["name"], "a");
  auto bookmark = stream.next();
  ASSERT_TRUE(bookmark.has_value() && bookmark.value());
  EXPECT_EQ(bookmark.value()->type, WatchEventType::Bookmark);
  auto gone = stream.next();
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::Gone);
  EXPECT_EQ(gone.error().httpStatus, 410);
  EXPECT_THAT(gone.error().message, HasSubstr("too old"));
  auto after = stream.next();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after.value().has_value());
}

TEST_F(RestRequests, OtherErrorEventsMapThroughTheirStatus) {
  transport_->lines = {
      R"({"type":"ERROR","object":{"kind":"Status","code":500,"reason":"InternalError","message":"etcd is sad"}})"};
  auto opened = client_->watch(domains(), "vms", {});
  ASSERT_TRUE(opened.has_value());
  auto failed = opened.value()->next();
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().kind, ErrorKind::ServerError);
  EXPECT_TRUE(failed.error().retryable());
}

TEST_F(RestRequests, MalformedWatchLinesAreDecodeErrors) {
  for (const std::string line : {"{not json", R"({"type":"ADDED"})", R"({"type":"RENAMED","object":{}})",
                                 R"({"type":"ERROR","object":{"kind":"Pod"}})", "[1,2]"}) {
    transport_->lines = {line};
    auto opened = client_->watch(domains(), "vms", {});
    ASSERT_TRUE(opened.has_value());
    auto failed = opened.value()->next();
    ASSERT_FALSE(failed.has_value()) << line;
    EXPECT_EQ(failed.error().kind, ErrorKind::Decode) << line;
  }
}

TEST(StatusError, AStatusBodyDecidesByItsReason) {
  const json status{
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"status", "Failure"},
      {"code", 422},
      {"reason", "Invalid"},
      {"message", "Domain \"a\" is invalid"},
      {"details",
       {{"causes",
         {{{"reason", "FieldValueInvalid"}, {"message", "must be >= 1"}, {"field", "spec.vcpus"}}}}}}};
  KubeError error = errorFromResponse(422, status.dump());
  EXPECT_EQ(error.kind, ErrorKind::Invalid);
  EXPECT_EQ(error.reason, "Invalid");
  ASSERT_EQ(error.causes.size(), 1U);
  EXPECT_EQ(error.causes[0].reason, "FieldValueInvalid");
  EXPECT_EQ(error.causes[0].field, "spec.vcpus");
  EXPECT_EQ(error.describe(), "Invalid (422): Domain \"a\" is invalid; spec.vcpus: must be >= 1");

  // The reason wins over the code, as in apierrors.IsAlreadyExists / IsGone.
  EXPECT_EQ(errorFromResponse(409, R"({"kind":"Status","reason":"AlreadyExists","message":"x"})").kind,
            ErrorKind::AlreadyExists);
  EXPECT_EQ(errorFromResponse(410, R"({"kind":"Status","reason":"Gone","message":"x"})").kind,
            ErrorKind::Gone);
  EXPECT_EQ(errorFromResponse(500, R"({"kind":"Status","reason":"ServerTimeout","message":"x"})").kind,
            ErrorKind::Timeout);
  // An unknown reason leaves it to the status code.
  EXPECT_EQ(errorFromResponse(404, R"({"kind":"Status","reason":"SomethingNew","message":"x"})").kind,
            ErrorKind::NotFound);
  EXPECT_EQ(errorFromResponse(403, R"({"kind":"Status","message":"x"})").kind, ErrorKind::Forbidden);
}

TEST(StatusError, AnswersWithoutAStatusGetClearMessagesByCode) {
  struct Case {
    int status;
    ErrorKind kind;
  };
  for (const Case& c :
       {Case{400, ErrorKind::BadRequest}, Case{401, ErrorKind::Unauthorized}, Case{403, ErrorKind::Forbidden},
        Case{404, ErrorKind::NotFound}, Case{405, ErrorKind::BadRequest}, Case{409, ErrorKind::Conflict},
        Case{410, ErrorKind::Gone}, Case{422, ErrorKind::Invalid}, Case{429, ErrorKind::TooManyRequests},
        Case{500, ErrorKind::ServerError}, Case{502, ErrorKind::ServerError},
        Case{503, ErrorKind::ServerError}, Case{504, ErrorKind::Timeout}}) {
    KubeError error = errorFromResponse(c.status, "upstream connect error\n");
    EXPECT_EQ(error.kind, c.kind) << c.status;
    EXPECT_EQ(error.httpStatus, c.status);
    EXPECT_THAT(error.message, HasSubstr("HTTP " + std::to_string(c.status))) << error.message;
    EXPECT_THAT(error.message, HasSubstr("upstream connect error"));
  }
  EXPECT_THAT(errorFromResponse(502, "").message, HasSubstr("an error on the server"));
}

TEST(StatusError, RetryAfterComesFromTheStatusOrTheHeader) {
  EXPECT_EQ(errorFromResponse(429, "", "7").retryAfter, std::chrono::seconds(7));
  EXPECT_EQ(errorFromResponse(503, "", "soon").retryAfter, std::nullopt);
  EXPECT_EQ(errorFromResponse(
                429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":3}})", "7")
                .retryAfter,
            std::chrono::seconds(3));
}

}  // namespace
}  // namespace virtsnap::kube
