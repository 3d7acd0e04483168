// Requests per second of the embedded API server: create, get, merge patch and watch
// fan-out, sent by the agent's own client (RestClient). Each is measured over HTTPS (cpprestsdk's
// listener, TLS, bearer token: what kubectl and the agent see) and handed to the ApiHandler in process,
// in the same run, so the ratio shows what the HTTP front costs. Every write is durable (the
// write-ahead log fsyncs before the answer), on this machine's disk.
//
//   cmake --build build -j2 --target virtsnap_bench_apiserver && build/bench/virtsnap_bench_apiserver

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/rest_client.h"
#include "crds/domain.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"

namespace virtsnap {
namespace {

enum class Path { InProcess, Https };

// One server for the whole run, and a client for each path.
class Environment {
 public:
  static Environment& get() {
    static Environment environment;
    return environment;
  }

  kube::ApiClient& client(Path path) { return path == Path::InProcess ? *inProcess_ : *https_; }

  ~Environment() {
    inProcess_.reset();
    https_.reset();
    front_.reset();
    api_.reset();
  }

 private:
  Environment() {
    testsupport::EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-bench-apiserver";
    options.token = apiserver::randomToken();
    options.durable = true;  // every write fsyncs its log record before the answer
    options.client.qps = 0;  // the server is measured, not the client's limiter
    options.namespaces = {"bench", "fanout"};
    auto started = testsupport::EmbeddedApiServer::start(options);
    check(started.has_value(), started.has_value() ? "" : started.error());
    api_ = std::move(started).value();
    inProcess_ = api_->client();
    // The agent's path: the kubeconfig the server writes, loaded by kube_config, HTTPS with its CA and
    // token.
    auto front = testsupport::EmbeddedHttpsServer::start(*api_);
    check(front.has_value(), front.has_value() ? "" : front.error());
    front_ = std::move(front).value();
    auto client = kube::makeHttpApiClient(front_->clusterConfig(), options.client);
    check(client.has_value(), client.has_value() ? "" : client.error().describe());
    https_ = client.value();
  }

  static void check(bool ok, const std::string& why) {
    if (!ok) {
      std::fprintf(stderr, "apiserver bench: %s\n", why.c_str());
      std::exit(1);
    }
  }

  std::unique_ptr<testsupport::EmbeddedApiServer> api_;
  std::unique_ptr<testsupport::EmbeddedHttpsServer> front_;
  kube::ApiClientPtr inProcess_;
  kube::ApiClientPtr https_;
};

nlohmann::json domain(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "bench"}}}}},
          {"spec", {{"nodeName", "worker-1"}, {"vcpus", 2}, {"memory", "1Gi"}}}};
}

// Creates the object unless it is there already.
void ensure(kube::ApiClient& client, const std::string& ns, const std::string& name) {
  if (!client.get(meta::Resource<crds::Domain>::type(), ns, name).has_value()) {
    auto created = client.create(meta::Resource<crds::Domain>::type(), domain(ns, name), {});
    if (!created.has_value()) {
      std::fprintf(stderr, "apiserver bench: %s\n", created.error().describe().c_str());
      std::exit(1);
    }
  }
}

// A label value never used before, so every patch is a real write (a patch that changes nothing is
// answered without one, and sends no watch event).
std::string changedLabels() {
  static std::atomic<long> next{0};
  return R"({"metadata":{"labels":{"n":")" + std::to_string(next++) + R"("}}})";
}

std::string pathName(Path path) {
  return path == Path::InProcess ? "in-process" : "https";
}

void bmCreate(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  static std::atomic<long> next{0};
  for (auto _ : state) {
    auto created = client.create(meta::Resource<crds::Domain>::type(),
                                 domain("bench", "c-" + pathName(path) + "-" + std::to_string(next++)), {});
    if (!created.has_value()) {
      state.SkipWithError(created.error().describe().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void bmGet(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  ensure(client, "bench", "to-get");
  for (auto _ : state) {
    auto got = client.get(meta::Resource<crds::Domain>::type(), "bench", "to-get");
    if (!got.has_value()) {
      state.SkipWithError(got.error().describe().c_str());
      break;
    }
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
}

void bmMergePatch(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  const std::string name = "to-patch-" + std::to_string(state.thread_index());
  ensure(client, "bench", name);
  for (auto _ : state) {
    const std::string body = changedLabels();
    auto patched =
        client.patch(meta::Resource<crds::Domain>::type(), "bench", name, kube::PatchType::Merge, body, {});
    if (!patched.has_value()) {
      state.SkipWithError(patched.error().describe().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// N open watches on one namespace; each iteration is one patch, done when every watch has its event.
// items/s is events delivered per second.
void bmWatchFanOut(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  const auto watchers = static_cast<int>(state.range(0));
  ensure(client, "fanout", "target");
  auto current = client.get(meta::Resource<crds::Domain>::type(), "fanout", "target");
  const std::string from = current.value()["metadata"]["resourceVersion"];

  std::mutex mutex;
  std::condition_variable delivered;
  long events = 0;  // guarded by mutex
  std::vector<kube::WatchStreamPtr> streams;
  for (int i = 0; i < watchers; ++i) {
    kube::ListOptions options;
    options.resourceVersion = from;
    auto opened = client.watch(meta::Resource<crds::Domain>::type(), "fanout", options);
    if (!opened.has_value()) {
      state.SkipWithError(opened.error().describe().c_str());
      return;
    }
    streams.push_back(std::move(opened).value());
  }
  std::vector<std::thread> readers;
  for (auto& stream : streams) {
    readers.emplace_back([&, watch = stream.get()] {
      for (;;) {
        auto event = watch->next();
        if (!event.has_value() || !event.value()) {
          return;
        }
        std::lock_guard lock(mutex);
        ++events;
        delivered.notify_all();
      }
    });
  }
  long expected = 0;
  for (auto _ : state) {
    const std::string body = changedLabels();
    auto patched = client.patch(meta::Resource<crds::Domain>::type(), "fanout", "target",
                                kube::PatchType::Merge, body, {});
    if (!patched.has_value()) {
      state.SkipWithError(patched.error().describe().c_str());
      break;
    }
    expected += watchers;
    std::unique_lock lock(mutex);
    delivered.wait(lock, [&] { return events >= expected; });
  }
  for (auto& stream : streams) {
    stream->cancel();
  }
  for (auto& reader : readers) {
    reader.join();
  }
  state.SetItemsProcessed(expected);
}

// Two client threads on two cores: the server shares them, as it does in standalone mode.
BENCHMARK_CAPTURE(bmCreate, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmCreate, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmGet, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmGet, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmMergePatch, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmMergePatch, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(bmWatchFanOut, in_process, Path::InProcess)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();
BENCHMARK_CAPTURE(bmWatchFanOut, https, Path::Https)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace
}  // namespace virtsnap
BENCHMARK_MAIN();
