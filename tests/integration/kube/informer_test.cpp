// The informer against the real embedded API server (ApiHandler + ObjectStore with the CRDs from crds/)
// through RestClient and the in-process transport: real resourceVersions, field selectors, bookmarks,
// history limits and the fault injector, with the informer's waits on a fake clock. Then once over
// HTTPS, across a restart of the server and its store.

#include "controller/kube/informer.h"

#include <filesystem>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/rest_client.h"
#include "crds/domain.h"
#include "tests/support/fake_clock.h"
#include "tests/support/in_process_transport.h"
#include "tests/support/scripted_api_client.h"
#include "tests/support/world_mirror.h"

namespace virtsnap::kube {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::eventually;

json domain(const std::string& name, const std::string& node = "node-a", const std::string& ns = "vms") {
  return json{{"apiVersion", "virtsnap.io/v1alpha1"},
              {"kind", "Domain"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", {{"nodeName", node}}}};
}

// An ApiClient that passes every call on and records the list and watch requests.
class RecordingClient final : public ApiClient {
 public:
  explicit RecordingClient(ApiClientPtr inner) : inner_(std::move(inner)) {}
  KubeResult<json> get(const meta::ResourceType& type, const std::string& ns,
                       const std::string& name) override {
    return inner_->get(type, ns, name);
  }
  KubeResult<json> list(const meta::ResourceType& type, const std::string& ns,
                        const ListOptions& options) override {
    record(lists_, options);
    return inner_->list(type, ns, options);
  }
  KubeResult<json> create(const meta::ResourceType& type, const json& object,
                          const WriteOptions& options) override {
    return inner_->create(type, object, options);
  }
  KubeResult<json> update(const meta::ResourceType& type, const json& object,
                          const WriteOptions& options) override {
    return inner_->update(type, object, options);
  }
  KubeResult<json> updateStatus(const meta::ResourceType& type, const json& object,
                                const WriteOptions& options) override {
    return inner_->updateStatus(type, object, options);
  }
  KubeResult<json> patch(const meta::ResourceType& type, const std::string& ns, const std::string& name,
                         PatchType patchType, const std::string& body, const PatchOptions& options) override {
    return inner_->patch(type, ns, name, patchType, body, options);
  }
  KubeResult<json> remove(const meta::ResourceType& type, const std::string& ns, const std::string& name,
                          const DeleteOptions& options) override {
    return inner_->remove(type, ns, name, options);
  }
  KubeResult<WatchStreamPtr> watch(const meta::ResourceType& type, const std::string& ns,
                                   const ListOptions& options) override {
    record(watches_, options);
    return inner_->watch(type, ns, options);
  }
  std::vector<ListOptions> lists() const {
    std::lock_guard lock(mutex_);
    return lists_;
  }
  std::vector<ListOptions> watches() const {
    std::lock_guard lock(mutex_);
    return watches_;
  }

 private:
  void record(std::vector<ListOptions>& calls, const ListOptions& options) {
    std::lock_guard lock(mutex_);
    calls.push_back(options);
  }
  ApiClientPtr inner_;
  mutable std::mutex mutex_;  // guards lists_ and watches_
  std::vector<ListOptions> lists_;
  std::vector<ListOptions> watches_;
};

class InformerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("virtsnap-informer-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
    auto loaded = apiserver::ResourceRegistry::load(fs::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(loaded).value());
    apiserver::StoreOptions storeOptions;
    storeOptions.watch.bookmarkInterval = milliseconds(20);
    storeOptions.watch.historySize = 8;  // so a short absence loses the history: 410 on resume
    auto opened = apiserver::MemoryObjectStore::open(dir_ / "store", *registry_, {}, storeOptions);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<apiserver::ApiHandler>(*registry_, *store_, "s3cret");
    transport_ = std::make_shared<testsupport::InProcessTransport>(*handler_, "s3cret");
    RestClientOptions clientOptions;
    clientOptions.qps = 0;  // unlimited: the limiter would sleep on the fake clock
    clientOptions.clock = clock_;
    rest_ = std::make_shared<RestClient>(transport_, clientOptions);
    client_ = std::make_shared<RecordingClient>(rest_);
    for (const char* ns : {"vms", "other"}) {
      auto created =
          rest_->create(meta::resources::namespaces(),
                        json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}, {});
      ASSERT_TRUE(created.has_value()) << created.error().describe();
    }
  }

  void TearDown() override {
    if (informer_) {
      informer_->stop();
    }
    informer_.reset();
    client_.reset();
    rest_.reset();
    transport_.reset();
    handler_.reset();
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // The agent's informer: Domains of node-a in namespace vms, through the field selector.
  void startInformer(bool awaitSync = true) {
    InformerOptions options;
    options.watcher.type = meta::Resource<crds::Domain>::type();
    options.watcher.ns = "vms";
    options.watcher.fieldSelector = "spec.nodeName=node-a";
    options.watcher.pageSize = 3;
    options.onFailure = [this](const WatcherFailure& failure) {
      std::lock_guard lock(mutex_);
      failures_.push_back(failure);
      retryAt_.push_back(clock_->now() + failure.retryIn);
    };
    informer_ = std::make_unique<Informer>(client_, options, clock_, seededRandom(17));
    informer_->addHandler(mirror_.handler());
    informer_->start();
    if (awaitSync) {
      ASSERT_TRUE(eventually([&] { return informer_->hasSynced(); }));
    }
  }

  json create(const json& object) {
    auto created = rest_->create(meta::Resource<crds::Domain>::type(), object, {});
    EXPECT_TRUE(created.has_value()) << created.error().describe();
    return created.has_value() ? created.value() : json();
  }
  // spec.nodeName is immutable (a Domain changes node by being recreated): touch a label instead.
  void touch(const std::string& name) {
    auto current = rest_->get(meta::Resource<crds::Domain>::type(), "vms", name);
    ASSERT_TRUE(current.has_value()) << current.error().describe();
    json changed = current.value();
    changed["metadata"]["labels"]["touched"] = std::to_string(++touches_);
    auto updated = rest_->update(meta::Resource<crds::Domain>::type(), changed, {});
    ASSERT_TRUE(updated.has_value()) << updated.error().describe();
  }
  void remove(const std::string& name) {
    auto removed = rest_->remove(meta::Resource<crds::Domain>::type(), "vms", name, {});
    ASSERT_TRUE(removed.has_value()) << removed.error().describe();
  }

  // The server's view of node-a's Domains: key -> resourceVersion.
  std::map<std::string, std::string> serverState() {
    ListOptions options;
    options.fieldSelector = "spec.nodeName=node-a";
    auto listed = rest_->list(meta::Resource<crds::Domain>::type(), "vms", options);
    EXPECT_TRUE(listed.has_value());
    std::map<std::string, std::string> state;
    if (listed.has_value()) {
      for (const auto& item : listed.value()["items"]) {
        state[objectKey(item)] = item["metadata"]["resourceVersion"].get<std::string>();
      }
    }
    return state;
  }
  // The handler's view and the cache both equal the server's, eventually (events are in flight).
  void expectInStepWithTheServer() {
    const auto expected = serverState();
    EXPECT_TRUE(eventually([&] { return mirror_.versions() == expected; }))
        << "the handler's world differs from the server's";
    std::map<std::string, std::string> cached;
    for (const auto& object : informer_->cache().list()) {
      cached[objectKey(*object)] = (*object)["metadata"]["resourceVersion"].get<std::string>();
    }
    EXPECT_EQ(cached, expected);
    EXPECT_EQ(mirror_.violations(), 0);
  }

  std::size_t failureCount() {
    std::lock_guard lock(mutex_);
    return failures_.size();
  }
  WatcherFailure failure(std::size_t index) {
    std::lock_guard lock(mutex_);
    return failures_.at(index);
  }
  // Drops the informer's open watch. The informer syncs before it watches, and the transport knows a
  // stream only once it is handed over, so break until the watcher reports the failure (it then waits
  // on the fake clock, with no stream open, so an extra break hits nothing).
  void breakWatch() {
    const std::size_t before = failureCount();
    ASSERT_TRUE(eventually([&] {
      transport_->breakStreams();
      return failureCount() > before;
    }));
  }
  // Waits for failure number `count` and the watcher sleeping on it, then moves the clock past it.
  void passBackoff(std::size_t count) {
    ASSERT_TRUE(eventually([&] { return failureCount() >= count && clock_->waiting() == 1; }));
    clock_->advance(failure(count - 1).retryIn);
  }

  fs::path dir_;
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  std::unique_ptr<apiserver::MemoryObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  std::shared_ptr<testsupport::InProcessTransport> transport_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  std::shared_ptr<RestClient> rest_;
  std::shared_ptr<RecordingClient> client_;
  testsupport::WorldMirror mirror_;
  int touches_ = 0;
  std::unique_ptr<Informer> informer_;
  std::mutex mutex_;  // guards failures_ and retryAt_
  std::vector<WatcherFailure> failures_;
  std::vector<Clock::TimePoint> retryAt_;
};

TEST_F(InformerIntegrationTest, KeepsOnlyTheNodesDomainsThroughTheFieldSelector) {
  for (const char* name : {"a", "b", "c", "d"}) {
    create(domain(name));
  }
  create(domain("elsewhere", "node-b"));
  startInformer();
  EXPECT_EQ(client_->lists().size(), 2U) << "4 objects in pages of 3";
  EXPECT_EQ(client_->lists()[0].fieldSelector, "spec.nodeName=node-a");
  expectInStepWithTheServer();

  create(domain("e"));
  touch("a");
  touch("elsewhere");  // not this node's: never seen
  create(domain("elsewhere-2", "node-b"));
  remove("b");
  remove("elsewhere");
  expectInStepWithTheServer();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/a", "vms/c", "vms/d", "vms/e"}));
  EXPECT_EQ((*informer_->cache().get("vms/a"))["metadata"]["labels"]["touched"], "1");
  EXPECT_EQ(failureCount(), 0U);
}

TEST_F(InformerIntegrationTest, BookmarksMoveTheResourceVersionWithoutEvents) {
  create(domain("a"));
  startInformer();
  const json other = create(domain("x", "node-a", "other"));  // another namespace: not in this watch
  const std::string version = other["metadata"]["resourceVersion"].get<std::string>();
  EXPECT_TRUE(eventually([&] { return informer_->resourceVersion() == version; }))
      << "a bookmark should have brought the watch to " << version << ", it is at "
      << informer_->resourceVersion();
  expectInStepWithTheServer();
}

TEST_F(InformerIntegrationTest, AWatchDroppedMidStreamIsResumedFromTheLastResourceVersion) {
  create(domain("a"));
  startInformer();
  create(domain("b"));
  expectInStepWithTheServer();
  ASSERT_TRUE(eventually([&] { return client_->watches().size() == 1; }));

  breakWatch();
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  EXPECT_EQ(failure(0).stage, WatcherStage::WatchStream);
  EXPECT_EQ(failure(0).error.kind, ErrorKind::Network);
  const std::string lastSeen = informer_->resourceVersion();
  create(domain("c"));  // while the watch is down: the resumed watch replays it
  passBackoff(1);
  expectInStepWithTheServer();
  ASSERT_GE(client_->watches().size(), 2U);
  EXPECT_EQ(client_->watches()[1].resourceVersion, lastSeen);
  EXPECT_EQ(client_->lists().size(), 1U) << "a drop is resumed, not relisted";
}

TEST_F(InformerIntegrationTest, AWatchTheServerDropsIsRetried) {
  create(domain("a"));
  startInformer();
  breakWatch();
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  // The server drops the next watch request too, before answering.
  handler_->faults().add(apiserver::Fault{"GET", meta::Resource<crds::Domain>::type().path("vms"),
                                          /*watchOnly=*/true,
                                          /*status=*/0, milliseconds(0), /*drop=*/true, /*times=*/1});
  passBackoff(1);
  passBackoff(2);
  create(domain("b"));
  expectInStepWithTheServer();
  EXPECT_EQ(handler_->faults().injected(), 1);
  EXPECT_EQ(client_->lists().size(), 1U);
}

// The history the watch would resume from is gone (more writes than the server keeps): 410, relist,
// and the handler's world still equals the server's, deletions it never saw included.
TEST_F(InformerIntegrationTest, A410DuringAWatchLeadsToARelistThatLosesNothing) {
  for (const char* name : {"a", "b", "c", "d"}) {
    create(domain(name));
  }
  startInformer();
  expectInStepWithTheServer();

  breakWatch();
  ASSERT_TRUE(eventually([&] { return failureCount() == 1; }));
  remove("a");
  remove("b");
  remove("c");
  touch("d");
  for (int i = 0; i < 10; ++i) {
    create(domain("new-" + std::to_string(i)));
  }
  passBackoff(1);
  passBackoff(2);  // the resume was answered 410
  EXPECT_EQ(failure(1).error.kind, ErrorKind::Gone);
  EXPECT_TRUE(failure(1).relist);
  expectInStepWithTheServer();
  EXPECT_EQ(client_->lists().size(), 2U + 4U) << "4 then 11 objects, in pages of 3";
  EXPECT_EQ(mirror_.unknownFinalStates(), 3) << "a, b and c vanished while nobody watched";

  create(domain("after"));
  remove("d");
  expectInStepWithTheServer();
}

TEST_F(InformerIntegrationTest, AnInjected410OnTheWatchLeadsToARelist) {
  create(domain("a"));
  startInformer();
  ASSERT_TRUE(eventually([&] { return store_->watchCount() == 1; }));
  handler_->faults().add(apiserver::Fault{"GET", meta::Resource<crds::Domain>::type().path("vms"),
                                          /*watchOnly=*/true,
                                          /*status=*/410, milliseconds(0), false, /*times=*/1});
  breakWatch();
  passBackoff(1);
  passBackoff(2);
  EXPECT_EQ(failure(1).error.kind, ErrorKind::Gone);
  create(domain("b"));
  expectInStepWithTheServer();
  EXPECT_EQ(client_->lists().size(), 2U);
  EXPECT_EQ(mirror_.unknownFinalStates(), 0);
}

TEST_F(InformerIntegrationTest, A5xxStormLeadsToBackoffNotAHotLoop) {
  create(domain("a"));
  handler_->faults().add(apiserver::Fault{"GET", meta::Resource<crds::Domain>::type().path("vms"), false,
                                          /*status=*/503, milliseconds(0), false, /*times=*/-1});
  startInformer(/*awaitSync=*/false);
  const auto begin = clock_->now();
  while (clock_->now() - begin < seconds(60)) {
    ASSERT_TRUE(eventually([&] { return failureCount() > 0 && clock_->waiting() == 1; }));
    const std::size_t failed = failureCount();
    Clock::TimePoint retryAt;
    {
      std::lock_guard lock(mutex_);
      retryAt = retryAt_.back();
    }
    clock_->advance(milliseconds(100));
    if (clock_->now() >= retryAt) {
      ASSERT_TRUE(eventually([&] { return failureCount() > failed; }));
    }
  }
  const int requests = handler_->faults().injected();
  RecordProperty("requestsIn60s", requests);
  EXPECT_LE(requests, 10) << "a hot loop";
  EXPECT_GE(requests, 5) << "it must keep trying";
  EXPECT_FALSE(informer_->hasSynced());

  handler_->faults().clear();  // the server recovers
  passBackoff(failureCount());
  ASSERT_TRUE(eventually([&] { return informer_->hasSynced(); }));
  expectInStepWithTheServer();
}

// The API server over HTTPS, stopped and started again on the same data directory and port while the
// informer runs: the informer comes back (resume or relist) and its handler's world equals the server's.
class InformerOverHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("virtsnap-informer-http-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
    auto loaded = apiserver::ResourceRegistry::load(fs::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(loaded).value());
    auto tls = apiserver::makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
    ASSERT_TRUE(tls.has_value()) << tls.error();
    tls_ = tls.value();
    token_ = apiserver::randomToken();
    startServer();
    auto config = loadKubeconfig({dir_ / "kubeconfig"});
    ASSERT_TRUE(config.has_value()) << config.error();
    RestClientOptions options;
    options.qps = 0;
    options.timeout = seconds(10);
    auto client = makeHttpApiClient(config.value(), options);
    ASSERT_TRUE(client.has_value()) << client.error().describe();
    client_ = client.value();
    auto ns = client_->create(
        meta::resources::namespaces(),
        json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "vms"}}}}, {});
    ASSERT_TRUE(ns.has_value()) << ns.error().describe();
  }

  void TearDown() override {
    if (informer_) {
      informer_->stop();
    }
    informer_.reset();
    client_.reset();
    stopServer();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void startServer() {
    auto opened = apiserver::ObjectStore::open(dir_ / "store", *registry_);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<apiserver::ApiHandler>(*registry_, *store_, token_);
    server_ = std::make_unique<apiserver::HttpServer>(*handler_,
                                                      apiserver::HttpServerOptions{"127.0.0.1", port_, tls_});
    auto failed = server_->start();
    ASSERT_FALSE(failed.has_value()) << *failed;
    port_ = std::stoi(server_->url().substr(server_->url().rfind(':') + 1));  // a restart keeps the port
    ASSERT_TRUE(apiserver::writeKubeconfig(dir_ / "kubeconfig", server_->url(), token_, tls_.caCertificatePem)
                    .has_value());
  }

  void stopServer() {
    if (server_) {
      server_->stop();
    }
    server_.reset();
    handler_.reset();
    store_.reset();
  }

  std::size_t failureCount() {
    std::lock_guard lock(mutex_);
    return failures_.size();
  }
  std::string describeFailures() {
    std::lock_guard lock(mutex_);
    std::string text = "the watcher's failures:";
    for (const auto& failure : failures_) {
      text +=
          "\n  stage " + std::to_string(static_cast<int>(failure.stage)) + ": " + failure.error.describe();
    }
    return text;
  }

  // Waits until the handler's world equals the server's, moving the fake clock past each backoff the
  // watcher sleeps in meanwhile.
  bool driveUntilInStep() {
    return eventually([&] {
      if (mirror_.versions() == serverState()) {
        return true;
      }
      std::lock_guard lock(mutex_);
      if (failures_.size() > advancedFor_ && clock_->waiting() == 1) {
        advancedFor_ = failures_.size();
        clock_->advance(failures_.back().retryIn);
      }
      return false;
    });
  }

  std::map<std::string, std::string> serverState() {
    ListOptions options;
    options.fieldSelector = "spec.nodeName=node-a";
    auto listed = client_->list(meta::Resource<crds::Domain>::type(), "vms", options);
    std::map<std::string, std::string> state;
    if (listed.has_value()) {
      for (const auto& item : listed.value()["items"]) {
        state[objectKey(item)] = item["metadata"]["resourceVersion"].get<std::string>();
      }
    }
    return state;
  }

  // A write right after the restart may go out on a pooled connection the old server closed (EPIPE);
  // like any writer, the test tries again.
  template <typename Call>
  static auto retryingNetworkErrors(Call call) {
    auto result = call();
    for (int attempt = 0; attempt < 5 && !result.has_value() && result.error().kind == ErrorKind::Network;
         ++attempt) {
      result = call();
    }
    return result;
  }
  void create(const json& object) {
    auto created = retryingNetworkErrors(
        [&] { return client_->create(meta::Resource<crds::Domain>::type(), object, {}); });
    ASSERT_TRUE(created.has_value()) << created.error().describe();
  }
  void remove(const std::string& name) {
    auto removed = retryingNetworkErrors(
        [&] { return client_->remove(meta::Resource<crds::Domain>::type(), "vms", name, {}); });
    ASSERT_TRUE(removed.has_value()) << removed.error().describe();
  }

  fs::path dir_;
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  apiserver::TlsMaterial tls_;
  std::string token_;
  int port_ = 0;
  std::unique_ptr<apiserver::ObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  std::unique_ptr<apiserver::HttpServer> server_;
  ApiClientPtr client_;
  std::shared_ptr<testsupport::FakeClock> clock_ = std::make_shared<testsupport::FakeClock>();
  testsupport::WorldMirror mirror_;
  std::unique_ptr<Informer> informer_;
  std::mutex mutex_;  // guards failures_ and advancedFor_
  std::vector<WatcherFailure> failures_;
  std::size_t advancedFor_ = 0;  // the failures whose backoff the clock was moved past
};

TEST_F(InformerOverHttpTest, AServerRestartMakesTheInformerResyncWithNothingLostOrDuplicated) {
  for (const char* name : {"a", "b", "c"}) {
    create(domain(name));
  }
  create(domain("x", "node-b"));
  InformerOptions options;
  options.watcher.type = meta::Resource<crds::Domain>::type();
  options.watcher.ns = "vms";
  options.watcher.fieldSelector = "spec.nodeName=node-a";
  options.onFailure = [this](const WatcherFailure& failure) {
    std::lock_guard lock(mutex_);
    failures_.push_back(failure);
  };
  informer_ = std::make_unique<Informer>(client_, options, clock_, seededRandom(23));
  informer_->addHandler(mirror_.handler());
  informer_->start();
  ASSERT_TRUE(eventually([&] { return informer_->hasSynced(); }));
  ASSERT_TRUE(driveUntilInStep());

  stopServer();
  ASSERT_TRUE(eventually([&] { return failureCount() >= 1; })) << "the watch outlived the server";
  startServer();
  // Changes the informer has not seen yet.
  create(domain("d"));
  remove("a");
  create(domain("y", "node-b"));

  EXPECT_TRUE(driveUntilInStep()) << "the informer did not come back in step with the server; "
                                  << describeFailures();
  EXPECT_EQ(mirror_.violations(), 0);
  create(domain("e"));  // and the watch is live again
  EXPECT_TRUE(driveUntilInStep());
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/b", "vms/c", "vms/d", "vms/e"}));
  EXPECT_EQ(mirror_.violations(), 0);
  RecordProperty("watcherFailures", static_cast<int>(failureCount()));
}

// relist() over the real transport: the open watch is abandoned (issue 10's rule: never cancelled in
// the library), a new list brings in what the transform admits now, and the new watch is live; no
// failure is reported and requests in a burst make no more than a few lists.
TEST_F(InformerOverHttpTest, ARelistAskedForAdmitsWhatTheTransformNowAdmits) {
  create(domain("a"));
  create(domain("x", "node-b"));
  std::mutex admittedMutex;
  std::set<std::string> admitted{"vms/a"};  // guarded by admittedMutex
  InformerOptions options;
  options.watcher.type = meta::Resource<crds::Domain>::type();
  options.watcher.ns = "vms";
  options.storage = CacheStorage::Packed;
  options.transform = [&](json&& object) -> std::optional<json> {
    std::lock_guard lock(admittedMutex);
    return admitted.count(objectKey(object)) > 0 ? std::optional<json>(std::move(object)) : std::nullopt;
  };
  options.onFailure = [this](const WatcherFailure& failure) {
    std::lock_guard lock(mutex_);
    failures_.push_back(failure);
  };
  informer_ = std::make_unique<Informer>(client_, options, clock_, seededRandom(29));
  informer_->addHandler(mirror_.handler());
  informer_->start();
  ASSERT_TRUE(eventually([&] { return informer_->hasSynced(); }));
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/a"}));

  {
    std::lock_guard lock(admittedMutex);
    admitted.insert("vms/x");
    admitted.insert("vms/y");
  }
  for (int i = 0; i < 5; ++i) {
    informer_->relist();
  }
  ASSERT_TRUE(eventually([&] { return informer_->cache().get("vms/x") != nullptr; })) << describeFailures();
  create(domain("y", "node-b"));  // the watch after the relist is live
  ASSERT_TRUE(eventually([&] { return informer_->cache().get("vms/y") != nullptr; })) << describeFailures();
  EXPECT_EQ(informer_->cache().keys(), (std::vector<std::string>{"vms/a", "vms/x", "vms/y"}));
  EXPECT_EQ(failureCount(), 0U) << describeFailures();
  EXPECT_EQ(mirror_.violations(), 0);
  EXPECT_EQ(mirror_.adds(), 3);
}

}  // namespace
}  // namespace virtsnap::kube
