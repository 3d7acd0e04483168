// The informer (controller/kube/informer.h): how much memory it holds per cached object at 10,000
// Snapshot-like objects, and how many watch events a second go through watcher -> cache (with a
// byDomain index) -> handler. Memory, by `shape`:
//   0 a small Snapshot-like object (818 bytes of JSON), whole, as json trees (the figure issue 12 quotes)
//   1 the same slimmed by a transform dropping ownerReferences, finalizers and conditions
//   2 the agent's real object: a Ready Snapshot as the API server serves it (managedFields, kubectl's
//     last-applied annotation, status with conditions, disks and the libvirt definition), whole, as
//     json trees: the agent before issue 12's cache work
//   3 the same through the agent's own Snapshot informer setup: its transform (agent::ofThisNodesDomains;
//     the list also holds 10,000 Snapshots of another node's Domains, which it drops) and Packed storage
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

#include "controller/agent/agent_manager.h"
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

// What the agent's own Ready Snapshot looks like on the wire: created with kubectl apply, the finalizer
// and status written by the agent, the definition libvirt's test driver gives for a small domain.
json agentSnapshotObject(int i, const std::string& domainName) {
  const std::string name = "snap-" + std::to_string(i);
  const std::string xml =
      "<domainsnapshot>\n  <name>" + name +
      "</name>\n  <description>nightly</description>\n  <state>running</state>\n"
      "  <creationTime>1796599830</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n"
      "    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>vms." +
      domainName +
      "</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
      "    <memory unit='KiB'>65536</memory>\n    <currentMemory unit='KiB'>65536</currentMemory>\n"
      "    <vcpu placement='static'>1</vcpu>\n    <os>\n      <type arch='i686'>hvm</type>\n"
      "      <boot dev='hd'/>\n    </os>\n    <clock offset='utc'/>\n"
      "    <on_poweroff>destroy</on_poweroff>\n    <on_reboot>restart</on_reboot>\n"
      "    <on_crash>destroy</on_crash>\n    <devices>\n      <disk type='file' device='disk'>\n"
      "        <source file='/default-pool/vms." +
      domainName +
      "-vda.img'/>\n        <target dev='vda' bus='virtio'/>\n"
      "        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
      "      </disk>\n      <memballoon model='virtio'>\n"
      "        <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n"
      "      </memballoon>\n    </devices>\n  </domain>\n</domainsnapshot>\n";
  json applied{{"apiVersion", "virtsnap.io/v1alpha1"},
               {"kind", "Snapshot"},
               {"metadata", {{"name", name}, {"namespace", "vms"}}},
               {"spec", {{"domainName", domainName}, {"description", "nightly"}, {"location", "Internal"}}}};
  auto entry = [](const std::string& manager, const std::string& subresource, json fields) {
    json e{{"manager", manager},
           {"operation", "Update"},
           {"apiVersion", "virtsnap.io/v1alpha1"},
           {"time", "2026-11-22T05:00:01Z"},
           {"fieldsType", "FieldsV1"},
           {"fieldsV1", std::move(fields)}};
    if (!subresource.empty()) {
      e["subresource"] = subresource;
    }
    return e;
  };
  json statusFields{{".", json::object()}};
  for (const char* field :
       {"phase", "observedGeneration", "conditions", "nodeName", "creationTime", "parent", "children",
        "current", "depth", "domainState", "location", "memory", "disks", "deletable", "definition"}) {
    statusFields[std::string("f:") + field] = json::object();
  }
  return json{
      {"apiVersion", "virtsnap.io/v1alpha1"},
      {"kind", "Snapshot"},
      {"metadata",
       {{"name", name},
        {"namespace", "vms"},
        {"uid", "6f1c2a0e-9b7d-4c7e-8a51-" + std::to_string(100000000000 + i)},
        {"resourceVersion", std::to_string(1000 + i)},
        {"generation", 1},
        {"creationTimestamp", "2026-11-22T05:00:00Z"},
        {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", applied.dump() + "\n"}}},
        {"finalizers", {"virtsnap.io/snapshot-protection"}},
        {"managedFields",
         {entry("kubectl-client-side-apply", "",
                {{"f:metadata",
                  {{"f:annotations",
                    {{".", json::object()},
                     {"f:kubectl.kubernetes.io/last-applied-configuration", json::object()}}}}},
                 {"f:spec",
                  {{".", json::object()},
                   {"f:description", json::object()},
                   {"f:domainName", json::object()},
                   {"f:location", json::object()}}}}),
          entry("virtsnap-controller", "",
                {{"f:metadata",
                  {{"f:finalizers",
                    {{".", json::object()}, {"v:\"virtsnap.io/snapshot-protection\"", json::object()}}}}}}),
          entry("virtsnap-controller", "status", {{"f:status", statusFields}})}}}},
      {"spec", {{"domainName", domainName}, {"description", "nightly"}, {"location", "Internal"}}},
      {"status",
       {{"phase", "Ready"},
        {"observedGeneration", 1},
        {"conditions",
         {{{"type", "Ready"},
           {"status", "True"},
           {"reason", "Ready"},
           {"message", "the snapshot exists on the hypervisor"},
           {"lastTransitionTime", "2026-11-22T05:00:01Z"},
           {"observedGeneration", 1}}}},
        {"nodeName", "n1"},
        {"creationTime", "2026-11-22T05:00:01Z"},
        {"parent", "snap-" + std::to_string(i > 0 ? i - 1 : 0)},
        {"children", {"snap-" + std::to_string(i + 1)}},
        {"current", false},
        {"depth", i % 20},
        {"domainState", "Running"},
        {"location", "Internal"},
        {"memory", true},
        {"disks", {{{"name", "vda"}, {"snapshot", "Internal"}}}},
        {"deletable", true},
        {"definition", xml}}}};
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
    {
      std::lock_guard lock(mutex_);
      ++watches_;
    }
    ready_.notify_all();
    return WatchStreamPtr(std::make_unique<Stream>(*this));
  }
  // Waits for watch call number `count`: the informer is done with the list before it (its relist's
  // handler calls returned, and what they held is freed).
  void awaitWatch(int count) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return watches_ >= count; });
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
  std::mutex mutex_;  // guards queue_, watches_ (and the streams' cancelled_)
  std::condition_variable ready_;
  std::deque<WatchEvent> queue_;
  int watches_ = 0;
};

InformerOptions benchOptions(bool slim, const ObjectCache* agentDomains = nullptr) {
  InformerOptions options;
  options.watcher.type = meta::Resource<crds::Snapshot>::type();
  options.watcher.ns = "vms";
  options.indexers = {{"byDomain", [](const json& object) {
                         return std::vector<std::string>{
                             namespacedIndexValue(object, object["spec"]["domainName"].get<std::string>())};
                       }}};
  if (agentDomains != nullptr) {
    options.transform = virtsnap::agent::ofThisNodesDomains(*agentDomains);
    options.storage = CacheStorage::Packed;
  } else if (slim) {
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
  const int shape = static_cast<int>(state.range(1));
  // This node's Domains (500, ten Snapshots each on average), for the agent's transform.
  ObjectCache domains;
  for (int d = 0; d < 500; ++d) {
    domains.upsert(std::make_shared<const json>(
        json{{"metadata", {{"namespace", "vms"}, {"name", "dom-" + std::to_string(d)}}}}));
  }
  std::vector<json> items;
  items.reserve(static_cast<std::size_t>(count));
  std::size_t jsonBytes = 0;
  for (int i = 0; i < count; ++i) {
    items.push_back(shape < 2 ? snapshotObject(i, i + 1)
                              : agentSnapshotObject(i, "dom-" + std::to_string(i % 500)));
    jsonBytes += items.back().dump().size();
  }
  if (shape == 3) {
    for (int i = 0; i < count; ++i) {  // another node's: listed, dropped
      items.push_back(agentSnapshotObject(count + i, "other-" + std::to_string(i % 500)));
    }
  }
  auto client = std::make_shared<BenchClient>(std::move(items));
  double perObject = 0;
  std::size_t cached = 0;
  int watches = 0;
  for (auto _ : state) {
    const std::size_t before = heapInUse();
    Informer informer(client, benchOptions(shape == 1, shape == 3 ? &domains : nullptr),
                      virtsnap::systemClock(), virtsnap::seededRandom(1));
    informer.start();
    informer.waitForSync(std::chrono::steady_clock::now() + std::chrono::minutes(1));
    client->awaitWatch(++watches);
    malloc_trim(0);
    const std::size_t after = heapInUse();
    cached = informer.cache().size();
    perObject = static_cast<double>(after - before) / static_cast<double>(cached);
    informer.stop();
  }
  state.counters["bytes_per_object"] = perObject;
  state.counters["cached_objects"] = static_cast<double>(cached);
  state.counters["json_text_bytes_per_object"] = static_cast<double>(jsonBytes) / count;
}
BENCHMARK(bmInformerMemoryPerObject)
    ->ArgNames({"objects", "shape"})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Args({10000, 3})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Reading from the cache: byIndex of one Domain's Snapshots (20 of the agent's objects), as the
// reconcilers and handlers do, from json trees (storage 0) and packed (storage 1, decoded per read).
void bmCacheByIndexRead(benchmark::State& state) {
  ObjectCache cache(benchOptions(false).indexers,
                    state.range(0) == 0 ? CacheStorage::Objects : CacheStorage::Packed);
  for (int i = 0; i < 20; ++i) {
    cache.upsert(std::make_shared<const json>(agentSnapshotObject(i, "dom-0")));
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.byIndex("byDomain", "vms/dom-0"));
  }
  state.SetItemsProcessed(state.iterations() * 20);
}
BENCHMARK(bmCacheByIndexRead)->ArgNames({"packed"})->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

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
