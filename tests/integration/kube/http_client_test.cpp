// The HTTPS client against the embedded API server on a real socket with TLS and a bearer token:
// the kubeconfig the server writes is loaded by kube_config and used as is.

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "crds/domain.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"

namespace virtsnap::kube {
namespace {

using nlohmann::json;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;
using testsupport::EmbeddedHttpsServer;

json domain(const std::string& name) {
  return json{{"apiVersion", "virtsnap.io/v1alpha1"},
              {"kind", "Domain"},
              {"metadata", {{"name", name}, {"namespace", "vms"}}},
              {"spec", {{"nodeName", "worker-1"}}}};
}

// Counts how often the transport asks for the token.
class CountingTokenSource final : public TokenSource {
 public:
  explicit CountingTokenSource(std::string token) : token_(std::move(token)) {}
  KubeResult<std::string> token() override {
    ++asked;
    return token_;
  }
  std::atomic<int> asked{0};

 private:
  std::string token_;
};

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-http-client";
    options.token = apiserver::randomToken();
    options.durable = true;
    options.namespaces = {"vms"};
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    auto front = EmbeddedHttpsServer::start(*api_);
    ASSERT_TRUE(front.has_value()) << front.error();
    https_ = std::move(front).value();
    token_ = api_->token();
    config_ = https_->clusterConfig();
    client_ = connect(config_);
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    client_.reset();
    https_.reset();
    api_.reset();
  }

  static ApiClientPtr connect(const ClusterConfig& config,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    RestClientOptions options;
    options.timeout = timeout;
    auto client = makeHttpApiClient(config, options);
    EXPECT_TRUE(client.has_value()) << client.error().describe();
    return client.has_value() ? client.value() : nullptr;
  }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::unique_ptr<EmbeddedHttpsServer> https_;
  std::string token_;
  ClusterConfig config_;
  ApiClientPtr client_;
};

TEST_F(HttpClientTest, CreatesReadsUpdatesPatchesAndDeletesOverTls) {
  auto created = client_->create(meta::Resource<crds::Domain>::type(), domain("web-1"), {});
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  auto got = client_->get(meta::Resource<crds::Domain>::type(), "vms", "web-1");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(got.value()["metadata"]["uid"], created.value()["metadata"]["uid"]);

  json changed = got.value();
  changed["spec"]["vcpus"] = 3;
  auto updated = client_->update(meta::Resource<crds::Domain>::type(), changed, {});
  ASSERT_TRUE(updated.has_value()) << updated.error().describe();
  EXPECT_EQ(updated.value()["spec"]["vcpus"], 3);

  ListOptions selector;
  selector.fieldSelector = "spec.nodeName=worker-1";
  selector.labelSelector = "!absent";  // characters that need encoding in a query
  auto listed = client_->list(meta::Resource<crds::Domain>::type(), "vms", selector);
  ASSERT_TRUE(listed.has_value()) << listed.error().describe();
  ASSERT_EQ(listed.value()["items"].size(), 1U);

  auto patched = client_->patch(meta::Resource<crds::Domain>::type(), "vms", "web-1", PatchType::Merge,
                                R"({"metadata":{"labels":{"tier":"front & back"}}})", {});
  ASSERT_TRUE(patched.has_value()) << patched.error().describe();
  ListOptions byLabel;
  byLabel.labelSelector = "tier in (front-only)";
  auto none = client_->list(meta::Resource<crds::Domain>::type(), "vms", byLabel);
  ASSERT_TRUE(none.has_value()) << none.error().describe();
  EXPECT_TRUE(none.value()["items"].empty());

  PatchOptions apply;
  apply.fieldManager = "http-test";
  apply.force = true;  // take spec.vcpus over from the manager of the update above
  auto applied = client_->patch(meta::Resource<crds::Domain>::type(), "vms", "web-1", PatchType::Apply,
                                "apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: web-1\n  "
                                "namespace: vms\nspec:\n  nodeName: worker-1\n  vcpus: 6\n",
                                apply);
  ASSERT_TRUE(applied.has_value()) << applied.error().describe();
  EXPECT_EQ(applied.value()["spec"]["vcpus"], 6);

  ASSERT_TRUE(client_->remove(meta::Resource<crds::Domain>::type(), "vms", "web-1", {}).has_value());
  auto gone = client_->get(meta::Resource<crds::Domain>::type(), "vms", "web-1");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::NotFound);
}

TEST_F(HttpClientTest, TheTokenIsAskedForOnEveryRequest) {
  auto counting = std::make_shared<CountingTokenSource>(token_);
  ClusterConfig config = config_;
  config.tokenSource = counting;
  ApiClientPtr client = connect(config);
  ASSERT_TRUE(client->list(meta::Resource<crds::Domain>::type(), "vms", {}).has_value());
  ASSERT_TRUE(client->list(meta::Resource<crds::Domain>::type(), "vms", {}).has_value());
  EXPECT_EQ(counting->asked.load(), 2);
}

TEST_F(HttpClientTest, AWrongTokenIsUnauthorized) {
  ClusterConfig config = config_;
  config.tokenSource = staticTokenSource("not-the-token");
  auto refused = connect(config)->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Unauthorized);
  EXPECT_EQ(refused.error().httpStatus, 401);
}

TEST_F(HttpClientTest, AnUnknownCaIsATlsNetworkError) {
  auto other = apiserver::makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
  ASSERT_TRUE(other.has_value());
  ClusterConfig config = config_;
  config.caPem = other.value().caCertificatePem;
  auto refused = connect(config)->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Network);
  EXPECT_THAT(refused.error().message, HasSubstr("TLS"));
  EXPECT_THAT(refused.error().message,
              HasSubstr("certificate verify failed"));  // and OpenSSL's reason
}

TEST_F(HttpClientTest, InsecureSkipTlsVerifyConnectsWithoutTheCa) {
  ClusterConfig config = config_;
  config.caPem.clear();
  auto refused = connect(config)->list(meta::Resource<crds::Domain>::type(), "vms",
                                       {});  // the system roots do not know it
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Network);
  config.insecureSkipTlsVerify = true;
  auto listed = connect(config)->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_TRUE(listed.has_value()) << listed.error().describe();
}

TEST_F(HttpClientTest, BadTlsMaterialIsRefusedWhenTheClientIsMade) {
  ClusterConfig config = config_;
  config.caPem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
  auto client = makeHttpApiClient(config);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().kind, ErrorKind::BadRequest);
  config = config_;
  config.server = "ftp://127.0.0.1";
  EXPECT_FALSE(makeHttpApiClient(config).has_value());
  config.server = "http://127.0.0.1:1";  // a token never goes over plain http
  auto plain = makeHttpApiClient(config);
  ASSERT_FALSE(plain.has_value());
  EXPECT_THAT(plain.error().message, HasSubstr("plain http"));
}

TEST_F(HttpClientTest, AConflictOnUpdateReachesTheCallerAsConflict) {
  auto created = client_->create(meta::Resource<crds::Domain>::type(), domain("web-1"), {});
  ASSERT_TRUE(created.has_value());
  api_->handler().faults().add(apiserver::Fault{"PUT", "/apis/virtsnap.io", false, 409, {}, false, 1});
  auto conflict = client_->update(meta::Resource<crds::Domain>::type(), created.value(), {});
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(conflict.error().httpStatus, 409);
  EXPECT_TRUE(client_->update(meta::Resource<crds::Domain>::type(), created.value(), {})
                  .has_value());  // the fault was for one
}

TEST_F(HttpClientTest, AServerErrorIsServerErrorWithItsRetryAfter) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", false, 503, {}, false, 1});
  auto failed = client_->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().kind, ErrorKind::ServerError);
  EXPECT_EQ(failed.error().httpStatus, 503);
  EXPECT_EQ(failed.error().retryAfter, std::chrono::seconds(1));
  EXPECT_TRUE(failed.error().retryable());
}

TEST_F(HttpClientTest, AnAnswerSlowerThanTheDeadlineIsTimeout) {
  auto transport = HttpTransport::create(config_);
  ASSERT_TRUE(transport.has_value()) << transport.error().describe();
  RestClientOptions impatientOptions;
  impatientOptions.timeout = std::chrono::milliseconds(200);
  RestClient impatient(transport.value(), impatientOptions);
  api_->handler().faults().add(
      apiserver::Fault{"GET", "/apis/", false, 0, std::chrono::milliseconds(1500), false, 1});
  auto late = impatient.list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().kind, ErrorKind::Timeout);
  EXPECT_TRUE(late.error().retryable());
  // The same transport goes on working (on a new connection: the late answer still holds the first),
  // for a call with an ordinary deadline: the deadline counts from the call, TLS set-up included.
  RestClient patient(transport.value(), {});
  auto next = patient.list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_TRUE(next.has_value()) << next.error().describe();
}

// A TCP listener that accepts connections and closes them at once, without a word.
class Slammer {
 public:
  Slammer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int connection = ::accept(fd_, nullptr, nullptr);
        if (connection < 0) {
          return;
        }
        ::close(connection);
      }
    });
  }
  ~Slammer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  Slammer(const Slammer&) = delete;
  Slammer& operator=(const Slammer&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(HttpClientTest, ADroppedConnectionIsANetworkError) {
  Slammer slammer;
  ClusterConfig config = config_;
  config.server = "https://127.0.0.1:" + std::to_string(slammer.port());
  auto dropped = connect(config)->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(dropped.has_value());
  EXPECT_EQ(dropped.error().kind, ErrorKind::Network);
  EXPECT_TRUE(dropped.error().retryable());
}

TEST_F(HttpClientTest, TheServersDroppedConnectionFaultIsANetworkErrorForCallsAndWatches) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", false, 0, {}, /*drop=*/true, 1});
  auto dropped = client_->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(dropped.has_value());
  EXPECT_EQ(dropped.error().kind, ErrorKind::Network) << dropped.error().describe();
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", true, 0, {}, /*drop=*/true, 1});
  auto watch = client_->watch(meta::Resource<crds::Domain>::type(), "vms", {});
  if (watch.has_value()) {  // the headers may arrive before the body breaks off
    auto next = watch.value()->next();
    ASSERT_FALSE(next.has_value());
    EXPECT_EQ(next.error().kind, ErrorKind::Network) << next.error().describe();
  } else {
    EXPECT_EQ(watch.error().kind, ErrorKind::Network) << watch.error().describe();
  }
  EXPECT_TRUE(client_->list(meta::Resource<crds::Domain>::type(), "vms", {})
                  .has_value());  // the next connection is fine
}

TEST_F(HttpClientTest, ARefusedConnectionIsANetworkError) {
  const std::string url = https_->server().url();
  https_->server().stop();
  auto refused = client_->list(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Network);
  EXPECT_THAT(refused.error().message, HasSubstr(url));
}

TEST_F(HttpClientTest, AWatchStreamsEventsAsTheyHappen) {
  ListOptions options;
  options.resourceVersion = std::to_string(api_->store().resourceVersion());
  auto opened = client_->watch(meta::Resource<crds::Domain>::type(), "vms", options);
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  WatchStream& stream = *opened.value();
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(client_->create(meta::Resource<crds::Domain>::type(), domain(name), {}).has_value());
    auto event = stream.next();  // each arrives while the stream stays open
    ASSERT_TRUE(event.has_value()) << event.error().describe();
    ASSERT_TRUE(event.value().has_value());
    EXPECT_EQ(event.value()->type, WatchEventType::Added);
    EXPECT_EQ(event.value()->object["metadata"]["name"], name);
  }
  ASSERT_TRUE(client_->remove(meta::Resource<crds::Domain>::type(), "vms", "a", {}).has_value());
  auto deleted = stream.next();
  ASSERT_TRUE(deleted.has_value() && deleted.value().has_value());
  EXPECT_EQ(deleted.value()->type, WatchEventType::Deleted);
}

TEST_F(HttpClientTest, CancelEndsABlockedWatch) {
  auto opened = client_->watch(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  WatchStream& stream = *opened.value();
  std::optional<KubeResult<std::optional<WatchEvent>>> result;
  std::thread consumer([&] { result.emplace(stream.next()); });
  stream.cancel();
  consumer.join();  // returns although the server sends nothing
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value()) << result->error().describe();
  EXPECT_FALSE(result->value().has_value());
  EXPECT_TRUE(client_->list(meta::Resource<crds::Domain>::type(), "vms", {}).has_value());
}

TEST_F(HttpClientTest, A410OnAWatchIsGone) {
  api_->handler().faults().add(apiserver::Fault{"GET", "/apis/", true, 410, {}, false, 1});
  auto opened = client_->watch(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().kind, ErrorKind::Gone);
}

TEST_F(HttpClientTest, AServerThatStopsEndsTheWatch) {
  auto opened = client_->watch(meta::Resource<crds::Domain>::type(), "vms", {});
  ASSERT_TRUE(opened.has_value()) << opened.error().describe();
  https_->server().stop();
  auto ended = opened.value()->next();
  // A clean end of the chunked body, or a broken connection: either way the stream is over.
  if (ended.has_value()) {
    EXPECT_FALSE(ended.value().has_value());
  } else {
    EXPECT_EQ(ended.error().kind, ErrorKind::Network);
  }
}

// An API server restarted between two requests of one client leaves the client's pooled connection
// to the old process dead; the next request, whatever its verb, fails on it before the server saw a
// byte and is sent again, once, on a fresh connection: the caller sees one success and the server one
// request. Each verb gets its own restart, with the connection of the request before it pooled.
class RestartedServerTest : public HttpClientTest {
 protected:
  void restart() {
    const std::string url = https_->server().url();
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    if (restarted_) {
      restarted_->stop();
    } else {
      https_->server().stop();
    }
    restarted_.reset();
    restarted_ = std::make_unique<apiserver::HttpServer>(
        api_->handler(), apiserver::HttpServerOptions{"127.0.0.1", port, https_->tls()});
    auto failed = restarted_->start();
    ASSERT_FALSE(failed.has_value()) << *failed;
    ASSERT_EQ(restarted_->url(), url) << "the server came back on another port";
  }
  void TearDown() override {
    client_.reset();
    if (restarted_) {
      restarted_->stop();
    }
    restarted_.reset();
    HttpClientTest::TearDown();
  }
  std::unique_ptr<apiserver::HttpServer> restarted_;
};

TEST_F(RestartedServerTest, EveryVerbSucceedsAtOnceOnTheFirstRequestAfterARestart) {
  const auto& type = meta::Resource<crds::Domain>::type();
  ASSERT_TRUE(client_->list(type, "vms", {}).has_value());  // a connection in the pool
  for (int round = 0; round < 3; ++round) {
    const std::string name = "after-restart-" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(restart());
    auto created = client_->create(type, domain(name), {});  // POST
    ASSERT_TRUE(created.has_value()) << "round " << round << ": " << created.error().describe();

    ASSERT_NO_FATAL_FAILURE(restart());
    auto got = client_->get(type, "vms", name);  // GET
    ASSERT_TRUE(got.has_value()) << "round " << round << ": " << got.error().describe();

    ASSERT_NO_FATAL_FAILURE(restart());
    json changed = got.value();
    changed["spec"]["vcpus"] = 2;
    auto updated = client_->update(type, changed, {});  // PUT
    ASSERT_TRUE(updated.has_value()) << "round " << round << ": " << updated.error().describe();

    ASSERT_NO_FATAL_FAILURE(restart());
    auto patched = client_->patch(type, "vms", name, PatchType::Merge,
                                  R"({"metadata":{"labels":{"round":")" + std::to_string(round) + R"("}}})",
                                  {});  // PATCH
    ASSERT_TRUE(patched.has_value()) << "round " << round << ": " << patched.error().describe();
    EXPECT_EQ(patched.value()["metadata"]["generation"], updated.value()["metadata"]["generation"])
        << "a label patch changes no generation: the update and the patch were each applied once";

    ASSERT_NO_FATAL_FAILURE(restart());
    auto removed = client_->remove(type, "vms", name, {});  // DELETE
    ASSERT_TRUE(removed.has_value()) << "round " << round << ": " << removed.error().describe();

    ASSERT_NO_FATAL_FAILURE(restart());
    auto watch = client_->watch(type, "vms", {});  // a watch's GET
    ASSERT_TRUE(watch.has_value()) << "round " << round << ": " << watch.error().describe();
    watch.value()->cancel();
  }
}

// A plain-HTTP server on loopback, a thread per connection, that reads whole requests and answers
// each with 200 {} on a kept-alive connection, except a request for `hangUpPath` that is not the first
// on its connection (so one the client sent on a reused, pooled connection): that one it reads to
// its last byte and then closes the connection without a word, as a server that died after
// receiving it. It counts the complete requests; one cut off before its end is not one.
class HangUpServer {
 public:
  explicit HangUpServer(std::string hangUpPath) : hangUpPath_(std::move(hangUpPath)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        const int connection = ::accept(fd_, nullptr, nullptr);
        if (connection < 0) {
          return;
        }
        std::lock_guard lock(mutex_);
        connections_.push_back(connection);
        servers_.emplace_back([this, connection] { serve(connection); });
      }
    });
  }
  ~HangUpServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (const int connection : connections_) {
        ::shutdown(connection, SHUT_RDWR);  // wakes recv()
      }
    }
    for (std::thread& server : servers_) {
      server.join();
    }
    for (const int connection : connections_) {
      ::close(connection);
    }
    ::close(fd_);
  }
  HangUpServer(const HangUpServer&) = delete;
  HangUpServer& operator=(const HangUpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // How many complete requests "METHOD path" came in.
  int received(const std::string& line) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(requests_.begin(), requests_.end(), line));
  }
  int hungUp() {
    std::lock_guard lock(mutex_);
    return hungUp_;
  }

 private:
  void serve(int connection) {
    std::string buffer;
    for (int onConnection = 1;; ++onConnection) {
      std::size_t end = std::string::npos;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!readMore(connection, buffer)) {
          return;
        }
      }
      const std::string head = buffer.substr(0, end);
      std::string lowered = head;
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::size_t length = 0;
      if (auto at = lowered.find("content-length:"); at != std::string::npos) {
        length = std::stoul(lowered.substr(at + std::string("content-length:").size()));
      }
      while (buffer.size() < end + 4 + length) {
        if (!readMore(connection, buffer)) {
          return;  // cut off before its end: not a request
        }
      }
      buffer.erase(0, end + 4 + length);
      const std::string line = head.substr(0, head.find(" HTTP/"));
      const bool hangUp = onConnection > 1 && line.substr(line.find(' ') + 1) == hangUpPath_;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(line);
        hungUp_ += hangUp ? 1 : 0;
      }
      if (hangUp) {
        ::shutdown(connection, SHUT_RDWR);
        return;
      }
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
      if (::send(connection, answer.data(), answer.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(answer.size())) {
        return;
      }
    }
  }
  static bool readMore(int connection, std::string& buffer) {
    std::array<char, 4096> chunk{};
    const ssize_t got = ::recv(connection, chunk.data(), chunk.size(), 0);
    if (got <= 0) {
      return false;
    }
    buffer.append(chunk.data(), static_cast<std::size_t>(got));
    return true;
  }

  const std::string hangUpPath_;
  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;  // guards connections_, servers_, requests_ and hungUp_
  std::vector<int> connections_;
  std::vector<std::thread> servers_;
  std::vector<std::string> requests_;
  int hungUp_ = 0;
};

KubeResult<std::shared_ptr<HttpTransport>> plainTransport(const std::string& url) {
  ClusterConfig config;
  config.server = url;
  return HttpTransport::create(config);
}

RestRequest plainRequest(const std::string& method, const std::string& path, std::string body = "") {
  RestRequest request;
  request.method = method;
  request.path = path;
  request.contentType = body.empty() ? "" : "application/json";
  request.body = std::move(body);
  request.timeout = std::chrono::seconds(10);
  return request;
}

// A request to /second on a pooled connection, after a request to /first; tried again (at most 20
// times) while the library happened to send it on a fresh connection, which the server answers.
struct ReusedAttempt {
  KubeResult<RestResponse> result = KubeError{};
  int sent = 0;
};
ReusedAttempt sendOnAReusedConnection(HttpTransport& transport, HangUpServer& server,
                                      const std::string& method, const std::string& body) {
  ReusedAttempt attempt;
  while (attempt.sent < 20 && server.hungUp() == 0) {
    auto first = transport.send(plainRequest("GET", "/first"));
    EXPECT_TRUE(first.has_value()) << first.error().describe();
    attempt.result = transport.send(plainRequest(method, "/second", body));
    ++attempt.sent;
  }
  return attempt;
}

// cpprestsdk sends a request again by itself when the answer on a reused connection breaks off before
// its status line; after the whole request went out the server may have acted on it, so the transport
// lets that happen for idempotent verbs only.
TEST(HttpTransportResend, ANonIdempotentRequestIsNotSentAgainAfterItsLastByteWentOut) {
  for (const std::string method : {"POST", "PATCH"}) {
    HangUpServer server("/second");
    auto transport = plainTransport(server.url());
    ASSERT_TRUE(transport.has_value()) << transport.error().describe();
    const ReusedAttempt attempt = sendOnAReusedConnection(*transport.value(), server, method, R"({"a":1})");
    ASSERT_EQ(server.hungUp(), 1) << method << " never went out on a reused connection";
    ASSERT_FALSE(attempt.result.has_value()) << method << " was answered: it was sent again";
    EXPECT_EQ(attempt.result.error().kind, ErrorKind::Network) << attempt.result.error().describe();
    EXPECT_THAT(attempt.result.error().message, HasSubstr("not sent twice"));
    EXPECT_EQ(server.received(method + " /second"), attempt.sent) << "each " << method << " once";
  }
}

TEST(HttpTransportResend, AnIdempotentRequestIsSentAgainAfterABrokenAnswer) {
  for (const std::string method : {"GET", "PUT", "DELETE"}) {
    HangUpServer server("/second");
    auto transport = plainTransport(server.url());
    ASSERT_TRUE(transport.has_value()) << transport.error().describe();
    const ReusedAttempt attempt =
        sendOnAReusedConnection(*transport.value(), server, method, method == "PUT" ? R"({"a":1})" : "");
    ASSERT_GE(server.hungUp(), 1) << method << " never went out on a reused connection";
    ASSERT_TRUE(attempt.result.has_value()) << method << ": " << attempt.result.error().describe();
    EXPECT_EQ(attempt.result.value().status, 200);
    EXPECT_EQ(server.received(method + " /second"), attempt.sent + server.hungUp()) << "sent again each time";
  }
}

}  // namespace
}  // namespace virtsnap::kube
