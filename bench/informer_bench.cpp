// The informer (controller/kube/informer.h): how much memory it holds per cached object at 10,000
// Snapshot-like objects (the whole object, and slimmed by a transform as the agent does), and how many
// watch events a second go through watcher -> cache (with a byDomain index) -> handler.
// Memory is the heap in use (glibc mallinfo2: uordblks + hblkhd) after the informer synced, minus
// before it started, divided by the object count: the cache's JSON, keys, index entries and shared_ptr
// control blocks, everything the informer keeps.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <malloc.h>

#include "controller/kube/informer.h"
#include "crds/snapshot.h"

namespace {

using nlohmann::json;
using namespace virtsnap::kube;  // NOLINT: a benchmark's own translation unit
namespace meta = virtsnap::meta;
namespace crds = virtsnap::crds;

json snapshotObject(int i, int version) {
  const std::string name = "snap-" + std::to_string(i);
  const std::string domainName = "dom-" + std::to_string(i % 500);
  return json{
      {"apiVersion", "virtsnap.io/v1alpha1"},
      {"kind", "Snapshot"},
      {"metadata",
       {{"name", name},
        {"namespace", "vms"},
        {"uid", "6f1c2a0e-9b7d-4c7e-8a51-" + std::to_string(100000000000 + i)},
        {"resourceVersion", std::to_string(version)},
        {"generation", 1},
        {"creationTimestamp", "2026-11-22T05:00:00Z"},
        {"labels", {{"virtsnap.io/domain", domainName}}},
        {"finalizers", {"virtsnap.io/snapshot-protection"}},
        {"ownerReferences",
         {{{"apiVersion", "virtsnap.io/v1alpha1"},
           {"kind", "Domain"},
           {"name", domainName},
           {"uid", "0a7b3c4d-1111-2222-3333-" + std::to_string(200000000000 + i % 500)},
           {"controller", true}}}}}},
      {"spec", {{"domainName", domainName}, {"description", "nightly snapshot"}, {"memory", "disk-only"}}},
      {"status",
       {{"phase", "Ready"},
        {"parent", "snap-" + std::to_string(i > 0 ? i - 1 : 0)},
        {"observedGeneration", 1},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"reason", "Created"},
           {"message", "the snapshot exists on the hypervisor"},
           {"lastTransitionTime", "2026-11-22T05:00:01Z"},
           {"observedGeneration", 1}}}}}}};
}

std::size_t heapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// An ApiClient serving a fixed list and a watch whose events the benchmark hands over in batches.
class BenchClient final : public ApiClient {
 public:
  explicit BenchClient(std::vector<json> items) : items_(std::move(items)) {}

  void send(std::deque<WatchEvent> batch) {
    {
      std::lock_guard lock(mutex_);
      for (auto& event : batch) {
        queue_.push_back(std::move(event));
      }
    }
    ready_.notify_all();
  }

  KubeResult<json> list(const meta::ResourceType&, const std::string&, const ListOptions& options) override {
    const std::size_t start = options.continueToken.empty() ? 0 : std::stoul(options.continueToken);
    const std::size_t end = options.limit > 0
                                ? std::min(items_.size(), start + static_cast<std::size_t>(options.limit))
                                : items_.size();
    json page{{"kind", "SnapshotList"}, {"metadata", {{"resourceVersion", "1"}}}, {"items", json::array()}};
    for (std::size_t i = start; i < end; ++i) {
      page["items"].push_back(items_[i]);
    }
    if (end < items_.size()) {
      page["metadata"]["continue"] = std::to_string(end);
    }
    return page;
  }
  KubeResult<WatchStreamPtr> watch(const meta::ResourceType&, const std::string&,
                                   const ListOptions&) override {
    return WatchStreamPtr(std::make_unique<Stream>(*this));
  }
  KubeResult<json> get(const meta::ResourceType&, const std::string&, const std::string&) override {
    return unsupported();
  }
  KubeResult<json> create(const meta::ResourceType&, const json&, const WriteOptions&) override {
    return unsupported();
  }
  KubeResult<json> update(const meta::ResourceType&, const json&, const WriteOptions&) override {
    return unsupported();
  }
  KubeResult<json> updateStatus(const meta::ResourceType&, const json&, const WriteOptions&) override {
    return unsupported();
  }
  KubeResult<json> patch(const meta::ResourceType&, const std::string&, const std::string&, PatchType,
                         const std::string&, const PatchOptions&) override {
    return unsupported();
  }
  KubeResult<json> remove(const meta::ResourceType&, const std::string&, const std::string&,
                          const DeleteOptions&) override {
    return unsupported();
  }

 private:
  class Stream final : public WatchStream {
   public:
    explicit Stream(BenchClient& client) : client_(client) {}
    KubeResult<std::optional<WatchEvent>> next() override {
      std::unique_lock lock(client_.mutex_);
      client_.ready_.wait(lock, [this] { return cancelled_ || !client_.queue_.empty(); });
      if (cancelled_) {
        return std::optional<WatchEvent>();
      }
      WatchEvent event = std::move(client_.queue_.front());
      client_.queue_.pop_front();
      return std::optional<WatchEvent>(std::move(event));
    }
    void cancel() override {
      {
        std::lock_guard lock(client_.mutex_);
        cancelled_ = true;
      }
      client_.ready_.notify_all();
    }

   private:
    BenchClient& client_;
    bool cancelled_ = false;  // guarded by client_.mutex_
  };

  static KubeError unsupported() {
    KubeError error;
    error.kind = ErrorKind::BadRequest;
    error.message = "not served by the benchmark client";
    return error;
  }

  const std::vector<json> items_;
  std::mutex mutex_;  // guards queue_ (and the streams' cancelled_)
  std::condition_variable ready_;
  std::deque<WatchEvent> queue_;
};

InformerOptions benchOptions(bool slim) {
  InformerOptions options;
  options.watcher.type = meta::Resource<crds::Snapshot>::type();
  options.watcher.ns = "vms";
  options.indexers = {{"byDomain", [](const json& object) {
                         return std::vector<std::string>{
                             namespacedIndexValue(object, object["spec"]["domainName"].get<std::string>())};
                       }}};
  if (slim) {
    // What an agent may drop: fields its reconcilers never read.
    options.transform = [](json&& object) -> std::optional<json> {
      object["metadata"].erase("ownerReferences");
      object["metadata"].erase("finalizers");
      object["status"].erase("conditions");
      return std::move(object);
    };
  }
  return options;
}

void bmInformerMemoryPerObject(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const bool slim = state.range(1) != 0;
  std::vector<json> items;
  items.reserve(static_cast<std::size_t>(count));
  std::size_t jsonBytes = 0;
  for (int i = 0; i < count; ++i) {
    items.push_back(snapshotObject(i, i + 1));
    jsonBytes += items.back().dump().size();
  }
  auto client = std::make_shared<BenchClient>(std::move(items));
  double perObject = 0;
  for (auto _ : state) {
    const std::size_t before = heapInUse();
    Informer informer(client, benchOptions(slim), virtsnap::systemClock(), virtsnap::seededRandom(1));
    informer.start();
    informer.waitForSync(std::chrono::steady_clock::now() + std::chrono::minutes(1));
    malloc_trim(0);
    const std::size_t after = heapInUse();
    perObject = static_cast<double>(after - before) / count;
    benchmark::DoNotOptimize(informer.cache().size());
    informer.stop();
  }
  state.counters["bytes_per_object"] = perObject;
  state.counters["json_text_bytes_per_object"] = static_cast<double>(jsonBytes) / count;
}
BENCHMARK(bmInformerMemoryPerObject)
    ->ArgNames({"objects", "slim"})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Updates to 1,000 cached objects, handed to the watch in batches of 10,000; the clock runs from the
// hand-over until the handler has seen the last one.
void bmInformerEventThroughput(benchmark::State& state) {
  constexpr int kObjects = 1000;
  constexpr int kBatch = 10000;
  std::vector<json> items;
  for (int i = 0; i < kObjects; ++i) {
    items.push_back(snapshotObject(i, i + 1));
  }
  auto client = std::make_shared<BenchClient>(items);
  Informer informer(client, benchOptions(/*slim=*/false), virtsnap::systemClock(), virtsnap::seededRandom(1));
  std::atomic<long> seen{0};
  std::mutex mutex;
  std::condition_variable caughtUp;
  std::atomic<long> target{0};
  informer.addHandler(EventHandler{nullptr,
                                   [&](const ObjectPtr&, const ObjectPtr&) {
                                     if (seen.fetch_add(1) + 1 == target) {
                                       std::lock_guard lock(mutex);
                                       caughtUp.notify_all();
                                     }
                                   },
                                   nullptr});
  informer.start();
  informer.waitForSync(std::chrono::steady_clock::now() + std::chrono::minutes(1));
  int version = kObjects + 1;
  for (auto _ : state) {
    state.PauseTiming();
    std::deque<WatchEvent> batch;
    for (int i = 0; i < kBatch; ++i) {
      json object = items[static_cast<std::size_t>(i % kObjects)];
      object["metadata"]["resourceVersion"] = std::to_string(++version);
      batch.push_back(WatchEvent{WatchEventType::Modified, std::move(object)});
    }
    target = seen.load() + kBatch;
    state.ResumeTiming();
    client->send(std::move(batch));
    std::unique_lock lock(mutex);
    caughtUp.wait(lock, [&] { return seen.load() >= target.load(); });
  }
  informer.stop();
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(bmInformerEventThroughput)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
