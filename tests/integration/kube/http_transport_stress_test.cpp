// The HTTPS transport under the races that used to crash it inside cpprestsdk (issue 10): deadlines that
// run out while the library is connecting, handshaking, writing or reading; watches cancelled or
// destroyed while events arrive; transports destroyed with exchanges still under way; the server
// stopped with watches open. Each case asserts what the caller must see; before the fix the process
// died now and then with SIGSEGV in boost::asio's epoll_reactor::start_op.
//
// Bounded by counts, not time: every wait is on an observable outcome.

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "crds/domain.h"
#include "crds/meta/resource_type.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"
#include "tests/support/eventually.h"

namespace virtsnap::kube {
namespace {

using testsupport::EmbeddedApiServer;
using testsupport::EmbeddedApiServerOptions;
using testsupport::EmbeddedHttpsServer;
using testsupport::eventually;

// The injected latency of every slow call, and the deadlines drawn below it: the answer can never
// come in time, so each of those calls must end as ErrorKind::Timeout.
constexpr std::chrono::milliseconds kLatency{15};
// Slow calls go to the core group only; watches and the writer use /apis/virtsnap.io, untouched.
const char* const kSlowPath = "/api/v1/namespaces";

RestRequest slowCall(std::chrono::milliseconds deadline) {
  RestRequest request;
  request.method = "GET";
  request.path = kSlowPath;
  request.headers["accept"] = "application/json";
  request.timeout = deadline;
  return request;
}

RestRequest watchDomains() {
  RestRequest request;
  request.method = "GET";
  request.path = meta::Resource<crds::Domain>::type().path("vms");
  request.query = {{"watch", "true"}};
  request.headers["accept"] = "application/json";
  request.timeout = std::chrono::seconds(10);
  return request;
}

nlohmann::json domain(const std::string& name) {
  return nlohmann::json{{"apiVersion", "virtsnap.io/v1alpha1"},
                        {"kind", "Domain"},
                        {"metadata", {{"name", name}, {"namespace", "vms"}}},
                        {"spec", {{"nodeName", "worker-1"}}}};
}

// Creates and deletes domains (in process, past the HTTP front) until destroyed, so that every open
// watch has events arriving.
class EventSource {
 public:
  explicit EventSource(EmbeddedApiServer& api)
      : thread_([this, &api] {
          for (int i = 0; !stop_; ++i) {
            const std::string name = "churn-" + std::to_string(i % 8);
            auto created = api.client()->create(meta::Resource<crds::Domain>::type(), domain(name), {});
            if (!created.has_value()) {
              (void)api.client()->remove(meta::Resource<crds::Domain>::type(), "vms", name, {});
            }
          }
        }) {}
  ~EventSource() {
    stop_ = true;
    thread_.join();
  }
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HttpTransportStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-http-stress";
    options.token = apiserver::randomToken();
    options.namespaces = {"vms"};
    options.client.qps = 0;
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    api_ = std::move(started).value();
    auto front = EmbeddedHttpsServer::start(*api_);
    ASSERT_TRUE(front.has_value()) << front.error();
    https_ = std::move(front).value();
  }

  void TearDown() override {
    https_.reset();
    api_.reset();
  }

  std::shared_ptr<HttpTransport> transport(const ClusterConfig& config) {
    auto made = HttpTransport::create(config);
    EXPECT_TRUE(made.has_value()) << made.error().describe();
    return made.has_value() ? made.value() : nullptr;
  }

  void slowDownCoreCalls() {
    api_->handler().faults().add(apiserver::Fault{"GET", kSlowPath, false, 0, kLatency, false, -1});
  }

  std::unique_ptr<EmbeddedApiServer> api_;
  std::unique_ptr<EmbeddedHttpsServer> https_;
};

// Thousands of calls whose deadline runs out at every stage of the exchange (connect, TLS handshake,
// request written, waiting for the answer): each is a Timeout, and the transport goes on working.
TEST_F(HttpTransportStressTest, ThousandsOfDeadlinesShorterThanTheServersLatency) {
  slowDownCoreCalls();
  auto shared = transport(https_->clusterConfig());
  ASSERT_NE(shared, nullptr);
  constexpr int kThreads = 4;
  constexpr int kCalls = 500;
  std::atomic<int> timeouts{0};
  std::atomic<int> other{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      std::minstd_rand random(static_cast<unsigned>(t) + 1U);
      for (int i = 0; i < kCalls; ++i) {
        const auto deadline =
            std::chrono::milliseconds(1 + static_cast<int>(random() % (kLatency.count() - 2)));
        auto answer = shared->send(slowCall(deadline));
        if (!answer.has_value() && answer.error().kind == ErrorKind::Timeout) {
          ++timeouts;
        } else {
          if (other++ < 5) {
            ADD_FAILURE() << "after " << deadline.count() << " ms: "
                          << (answer.has_value() ? "HTTP " + std::to_string(answer.value().status) + " " +
                                                       answer.value().body.substr(0, 200)
                                                 : answer.error().describe());
          }
        }
      }
    });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  EXPECT_EQ(timeouts.load(), kThreads * kCalls);
  EXPECT_EQ(other.load(), 0);
  api_->handler().faults().clear();
  auto after = shared->send(slowCall(std::chrono::seconds(10)));
  ASSERT_TRUE(after.has_value()) << after.error().describe();
  EXPECT_EQ(after.value().status, 200);
}

// Hundreds of watches opened while events flow and ended three ways: cancel() by the reader, cancel()
// from another thread while the reader is blocked in next(), and destruction mid-stream.
TEST_F(HttpTransportStressTest, HundredsOfWatchesCancelledWithEventsInFlight) {
  auto shared = transport(https_->clusterConfig());
  ASSERT_NE(shared, nullptr);
  EventSource events(*api_);
  constexpr int kThreads = 2;
  constexpr int kCycles = 100;
  std::atomic<int> cleanEnds{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> watchers;
  for (int t = 0; t < kThreads; ++t) {
    watchers.emplace_back([&, t] {
      for (int i = 0; i < kCycles; ++i) {
        auto opened = shared->stream(watchDomains());
        if (!opened.has_value()) {
          ADD_FAILURE() << opened.error().describe();
          ++failures;
          continue;
        }
        LineStreamPtr stream = std::move(opened).value();
        switch ((i + t) % 3) {
          case 0: {  // the reader reads an event, then cancels
            auto line = stream->next();
            EXPECT_TRUE(line.has_value() && line.value().has_value());
            stream->cancel();
            auto after = stream->next();
            EXPECT_TRUE(after.has_value() && !after.value().has_value());
            cleanEnds += after.has_value() && !after.value().has_value() ? 1 : 0;
            break;
          }
          case 1: {  // another thread cancels while the reader is in next()
            std::atomic<int> read{0};
            std::optional<KubeResult<std::optional<std::string>>> last;
            std::thread reader([&] {
              while (true) {
                auto line = stream->next();
                if (!line.has_value() || !line.value().has_value()) {
                  last.emplace(std::move(line));
                  return;
                }
                ++read;
              }
            });
            // Once the first event is in, the reader is reading.
            EXPECT_TRUE(eventually([&] { return read.load() > 0; }));
            stream->cancel();
            reader.join();
            ASSERT_TRUE(last.has_value());
            EXPECT_TRUE(last->has_value() && !last->value().has_value());
            cleanEnds += last->has_value() && !last->value().has_value() ? 1 : 0;
            break;
          }
          default: {  // destroyed while events keep coming
            auto line = stream->next();
            EXPECT_TRUE(line.has_value() && line.value().has_value());
            stream.reset();
            ++cleanEnds;
            break;
          }
        }
      }
    });
  }
  for (auto& watcher : watchers) {
    watcher.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cleanEnds.load(), kThreads * kCycles);
  auto after = shared->send(slowCall(std::chrono::seconds(10)));
  ASSERT_TRUE(after.has_value()) << after.error().describe();
}

// Transports dropped while their timed-out calls are still under way in the library and their watches
// are open (and being read on other threads).
TEST_F(HttpTransportStressTest, TransportsDestroyedWithExchangesUnderWay) {
  slowDownCoreCalls();
  EventSource events(*api_);
  constexpr int kCycles = 20;
  for (int i = 0; i < kCycles; ++i) {
    auto doomed = transport(https_->clusterConfig());
    ASSERT_NE(doomed, nullptr);
    std::vector<LineStreamPtr> watches;
    for (int w = 0; w < 2; ++w) {
      auto opened = doomed->stream(watchDomains());
      ASSERT_TRUE(opened.has_value()) << opened.error().describe();
      watches.push_back(std::move(opened).value());
    }
    std::atomic<int> readers{0};
    std::vector<std::thread> threads;
    for (auto& watch : watches) {
      threads.emplace_back([&readers, stream = watch.get()] {
        auto first = stream->next();
        EXPECT_TRUE(first.has_value()) << first.error().describe();
        ++readers;
        while (true) {
          auto line = stream->next();
          if (!line.has_value() || !line.value().has_value()) {
            return;
          }
        }
      });
    }
    for (int c = 0; c < 3; ++c) {
      threads.emplace_back([doomed, c] {
        auto answer = doomed->send(slowCall(std::chrono::milliseconds(1 + c * 4)));
        EXPECT_FALSE(answer.has_value());
      });
    }
    for (std::size_t t = watches.size(); t < threads.size(); ++t) {
      threads[t].join();  // the calls timed out; the library still has them under way
    }
    EXPECT_TRUE(eventually([&] { return readers.load() == static_cast<int>(watches.size()); }));
    doomed.reset();  // the watches still hold what they need
    for (auto& watch : watches) {
      watch->cancel();
    }
    for (std::size_t t = 0; t < watches.size(); ++t) {
      threads[t].join();
    }
    watches.clear();
  }
}

// The server stopped while watches are open and read, events flow and calls are under way: every
// watch ends (cleanly or as a broken stream), every call ends, stop() returns.
TEST_F(HttpTransportStressTest, TheServerStoppedWithWatchesOpen) {
  // Each cycle's server must be the process's only listener: cpprestsdk closes a port (and its
  // connections) only when the last http_listener of the process closes; before that, close() only
  // unregisters the path, and the port, kept open, goes on calling the closed listener's TLS callback.
  const apiserver::TlsMaterial tls = https_->tls();
  const ClusterConfig front = https_->clusterConfig();
  https_.reset();
  EventSource events(*api_);
  constexpr int kCycles = 10;
  for (int i = 0; i < kCycles; ++i) {
    apiserver::HttpServer server(api_->handler(), apiserver::HttpServerOptions{"127.0.0.1", 0, tls});
    ASSERT_FALSE(server.start().has_value());
    ClusterConfig config = front;
    config.server = server.url();
    auto client = transport(config);
    ASSERT_NE(client, nullptr);
    std::vector<LineStreamPtr> watches;
    for (int w = 0; w < 4; ++w) {
      auto opened = client->stream(watchDomains());
      ASSERT_TRUE(opened.has_value()) << opened.error().describe();
      watches.push_back(std::move(opened).value());
    }
    std::atomic<int> reading{0};
    std::atomic<bool> stopped{false};
    std::vector<std::thread> threads;
    for (auto& watch : watches) {
      threads.emplace_back([&reading, stream = watch.get()] {
        bool counted = false;
        while (true) {
          auto line = stream->next();
          if (!line.has_value()) {
            EXPECT_EQ(line.error().kind, ErrorKind::Network) << line.error().describe();
            break;
          }
          if (!line.value().has_value()) {
            break;
          }
          if (!counted) {
            counted = true;
            ++reading;
          }
        }
        if (!counted) {
          ++reading;
        }
      });
    }
    for (int c = 0; c < 2; ++c) {
      threads.emplace_back([&, c] {
        while (!stopped) {
          RestRequest list = watchDomains();
          list.query.clear();
          list.timeout = std::chrono::milliseconds(200 + 100 * c);
          (void)client->send(list);  // any outcome but a crash
        }
      });
    }
    EXPECT_TRUE(eventually([&] { return reading.load() == static_cast<int>(watches.size()); }));
    server.stop();
    stopped = true;
    for (auto& thread : threads) {
      thread.join();  // every watch ended although nobody cancelled it
    }
    watches.clear();
    client.reset();
  }
}

}  // namespace
}  // namespace virtsnap::kube
