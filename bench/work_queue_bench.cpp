// The controller work queue (controller/kube/work_queue.h): how many keys a second it moves through
// add -> get -> done, alone, with 1 and 2 worker threads, and when most adds hit a key already pending
// (an informer storm on a few objects). With and without the Prometheus workqueue metrics.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include "controller/kube/rate_limiters.h"
#include "controller/kube/work_queue.h"

namespace {

using virtsnap::kube::WorkQueue;
using virtsnap::kube::WorkqueueMetrics;

std::vector<std::string> makeKeys(int n) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    keys.push_back("default/snapshot-" + std::to_string(i));
  }
  return keys;
}

std::unique_ptr<WorkQueue> makeQueue(bool withMetrics) {
  auto clock = virtsnap::systemClock();
  std::unique_ptr<WorkqueueMetrics> metrics;
  if (withMetrics) {
    metrics = std::make_unique<WorkqueueMetrics>(std::make_shared<prometheus::Registry>(), "bench", clock);
  }
  return std::make_unique<WorkQueue>(clock, virtsnap::kube::defaultControllerRateLimiter(clock),
                                     std::move(metrics));
}

// One thread: add n distinct keys, then get and done each. Args: n, metrics.
void bmAddGetDoneOneThread(benchmark::State& state) {
  const auto keys = makeKeys(static_cast<int>(state.range(0)));
  auto queue = makeQueue(state.range(1) != 0);
  for (auto _ : state) {
    for (const std::string& key : keys) {
      queue->add(key);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto key = queue->get();
      queue->done(*key);
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bmAddGetDoneOneThread)->Args({10000, 0})->Args({10000, 1})->UseRealTime();

// Producer (the benchmark thread) and `workers` threads doing get + done, with per-key versions so the
// iteration ends when every add has been seen by a processing. Args: keys, adds, workers, metrics.
void runWorkers(benchmark::State& state, int keyCount, int adds, int workers, bool withMetrics) {
  const auto keys = makeKeys(keyCount);
  std::int64_t processedTotal = 0;
  for (auto _ : state) {
    auto queue = makeQueue(withMetrics);
    std::vector<std::atomic<int>> version(static_cast<std::size_t>(keyCount));
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(keyCount));
    std::atomic<std::int64_t> processed{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        while (auto key = queue->get()) {
          const auto index = static_cast<std::size_t>(std::stoi(key->substr(key->rfind('-') + 1)));
          seen[index].store(version[index].load());
          processed.fetch_add(1, std::memory_order_relaxed);
          queue->done(*key);
        }
      });
    }
    for (int i = 0; i < adds; ++i) {
      const auto index = static_cast<std::size_t>(i % keyCount);
      version[index].fetch_add(1);
      queue->add(keys[index]);
    }
    for (std::size_t i = 0; i < version.size(); ++i) {
      while (seen[i].load() != version[i].load()) {
        std::this_thread::yield();
      }
    }
    queue->shutDown();
    for (std::thread& thread : threads) {
      thread.join();
    }
    processedTotal += processed.load();
  }
  state.SetItemsProcessed(state.iterations() * adds);
  state.counters["processed_per_add"] =
      static_cast<double>(processedTotal) / static_cast<double>(state.iterations() * adds);
}

// Every add a new key: each one is processed. Args: workers, metrics.
void bmWorkersDistinctKeys(benchmark::State& state) {
  runWorkers(state, /*keyCount=*/20000, /*adds=*/20000, static_cast<int>(state.range(0)),
             state.range(1) != 0);
}
BENCHMARK(bmWorkersDistinctKeys)->Args({1, 0})->Args({2, 0})->Args({1, 1})->Args({2, 1})->UseRealTime();

// 100,000 adds over 16 keys: most adds find the key pending (or in flight, marking it dirty).
void bmWorkersDedupHeavy(benchmark::State& state) {
  runWorkers(state, /*keyCount=*/16, /*adds=*/100000, static_cast<int>(state.range(0)), state.range(1) != 0);
}
BENCHMARK(bmWorkersDedupHeavy)->Args({1, 0})->Args({2, 0})->Args({2, 1})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
