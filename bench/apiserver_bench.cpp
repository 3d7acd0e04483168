// Requests per second of the embedded API server (issue 4): create, get, merge patch and watch
// fan-out, sent by the agent's own client (RestClient). Each is measured over HTTPS (cpprestsdk's
// listener, TLS, bearer token: what kubectl and the agent see) and handed to the ApiHandler in process,
// in the same run, so the ratio shows what the HTTP front costs. Every write is durable (the
// write-ahead log fsyncs before the answer), on this machine's disk.
//
//   cmake --build build -j2 --target virtsnap_bench_apiserver && build/bench/virtsnap_bench_apiserver

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http_server.h"
#include "controller/apiserver/kubeconfig_writer.h"
#include "controller/apiserver/object_store.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/tls_certificates.h"
#include "controller/kube/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/rest_client.h"
#include "tests/support/in_process_transport.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;

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
    if (server_) {
      server_->stop();
    }
    server_.reset();
    handler_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

 private:
  Environment()
      : dir_(fs::temp_directory_path() / ("virtsnap-bench-apiserver-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    auto registry = apiserver::ResourceRegistry::load(fs::path(VIRTSNAP_SOURCE_DIR) / "crds");
    check(registry.ok(), "load the CRDs");
    registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(registry).value());
    auto store = apiserver::ObjectStore::open(dir_ / "store", *registry_);
    check(store.ok(), "open the store");
    store_ = std::move(store).value();
    const std::string token = apiserver::randomToken();
    handler_ = std::make_unique<apiserver::ApiHandler>(*registry_, *store_, token);
    kube::RestClientOptions unlimited;
    unlimited.qps = 0;  // the server is measured, not the client's limiter
    inProcess_ = std::make_shared<kube::RestClient>(
        std::make_shared<testing::InProcessTransport>(*handler_, token), unlimited);
    https_ = makeHttpsClient(token, unlimited);
    for (const char* ns : {"bench", "fanout"}) {
      check(inProcess_->create(kube::resources::namespaces(), {{"metadata", {{"name", ns}}}}, {}).ok(),
            "create a namespace");
    }
  }

  kube::ApiClientPtr makeHttpsClient(const std::string& token, const kube::RestClientOptions& options);

  static void check(bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "apiserver bench: cannot %s\n", what);
      std::exit(1);
    }
  }

  fs::path dir_;
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  std::unique_ptr<apiserver::ObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  std::unique_ptr<apiserver::HttpServer> server_;
  kube::ApiClientPtr inProcess_;
  kube::ApiClientPtr https_;
};

// The agent's path: the kubeconfig the server writes, loaded by kube_config, HTTPS with its CA and token.
kube::ApiClientPtr Environment::makeHttpsClient(const std::string& token,
                                                const kube::RestClientOptions& options) {
  auto tls = apiserver::makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
  check(tls.ok(), "make a TLS certificate");
  server_ = std::make_unique<apiserver::HttpServer>(
      *handler_, apiserver::HttpServerOptions{"127.0.0.1", 0, tls.value()});
  check(!server_->start().has_value(), "start the HTTPS server");
  const fs::path kubeconfig = dir_ / "kubeconfig";
  check(apiserver::writeKubeconfig(kubeconfig, server_->url(), token, tls.value().caCertificatePem).ok(),
        "write the kubeconfig");
  auto config = kube::loadKubeconfig({kubeconfig});
  check(config.ok(), "load the kubeconfig");
  auto client = kube::makeHttpApiClient(config.value(), options);
  check(client.ok(), "make the HTTPS client");
  return client.value();
}

nlohmann::json domain(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "bench"}}}}},
          {"spec", {{"nodeName", "worker-1"}, {"vcpus", 2}, {"memory", "1Gi"}}}};
}

// Creates the object unless it is there already.
void ensure(kube::ApiClient& client, const std::string& ns, const std::string& name) {
  if (!client.get(kube::resources::domains(), ns, name).ok()) {
    auto created = client.create(kube::resources::domains(), domain(ns, name), {});
    if (!created.ok()) {
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

void BM_Create(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  static std::atomic<long> next{0};
  for (auto _ : state) {
    auto created = client.create(kube::resources::domains(),
                                 domain("bench", "c-" + pathName(path) + "-" + std::to_string(next++)), {});
    if (!created.ok()) {
      state.SkipWithError(created.error().describe().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Get(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  ensure(client, "bench", "to-get");
  for (auto _ : state) {
    auto got = client.get(kube::resources::domains(), "bench", "to-get");
    if (!got.ok()) {
      state.SkipWithError(got.error().describe().c_str());
      break;
    }
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MergePatch(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  const std::string name = "to-patch-" + std::to_string(state.thread_index());
  ensure(client, "bench", name);
  for (auto _ : state) {
    const std::string body = changedLabels();
    auto patched = client.patch(kube::resources::domains(), "bench", name, kube::PatchType::Merge, body, {});
    if (!patched.ok()) {
      state.SkipWithError(patched.error().describe().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// N open watches on one namespace; each iteration is one patch, done when every watch has its event.
// items/s is events delivered per second.
void BM_WatchFanOut(benchmark::State& state, Path path) {
  kube::ApiClient& client = Environment::get().client(path);
  const auto watchers = static_cast<int>(state.range(0));
  ensure(client, "fanout", "target");
  auto current = client.get(kube::resources::domains(), "fanout", "target");
  const std::string from = current.value()["metadata"]["resourceVersion"];

  std::mutex mutex;
  std::condition_variable delivered;
  long events = 0;  // guarded by mutex
  std::vector<kube::WatchStreamPtr> streams;
  for (int i = 0; i < watchers; ++i) {
    kube::ListOptions options;
    options.resourceVersion = from;
    auto opened = client.watch(kube::resources::domains(), "fanout", options);
    if (!opened.ok()) {
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
        if (!event.ok() || !event.value()) {
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
    auto patched =
        client.patch(kube::resources::domains(), "fanout", "target", kube::PatchType::Merge, body, {});
    if (!patched.ok()) {
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
BENCHMARK_CAPTURE(BM_Create, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Create, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Get, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Get, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MergePatch, in_process, Path::InProcess)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_MergePatch, https, Path::Https)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_WatchFanOut, in_process, Path::InProcess)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();
BENCHMARK_CAPTURE(BM_WatchFanOut, https, Path::Https)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace
}  // namespace virtsnap
BENCHMARK_MAIN();
