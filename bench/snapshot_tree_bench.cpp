// The snapshot tree model at 10,000 snapshots (docs/design.md, Quality bars: the tree status of a
// 10,000-snapshot domain computed in under 10 ms). Shapes: a linear chain (every snapshot a child of
// the previous one, the common case) and a bushy tree (reverts and branches every few snapshots).

#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "drivers/snapshot_tree.h"

namespace {

using virtsnap::drivers::DeleteOptions;
using virtsnap::drivers::DeleteScope;
using virtsnap::drivers::SnapshotLocation;
using virtsnap::drivers::SnapshotRecord;
using virtsnap::drivers::SnapshotTree;

std::string nameOf(int i) {
  return "snap-" + std::to_string(i);
}

// Builds n snapshots; with `branchEvery` > 0, reverts to a random earlier snapshot that often.
void build(SnapshotTree& tree, int n, int branchEvery, unsigned seed = 42) {
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    if (branchEvery > 0 && i > 0 && i % branchEvery == 0) {
      benchmark::DoNotOptimize(tree.revert(nameOf(std::uniform_int_distribution<int>(0, i - 1)(rng))));
    }
    auto made = tree.create(SnapshotRecord{nameOf(i), std::nullopt, SnapshotLocation::Internal});
    benchmark::DoNotOptimize(made);
  }
}

// The status a Domain reports: every snapshot with its parent and depth, topologically ordered.
struct TreeEntry {
  std::string name;
  std::string parent;
  std::size_t depth;
  bool current;
};
std::vector<TreeEntry> treeStatus(const SnapshotTree& tree) {
  std::vector<TreeEntry> out;
  out.reserve(tree.size());
  const auto current = tree.current();
  tree.forEachTopological([&](const SnapshotRecord& r, std::size_t depth) {
    out.push_back({r.name, r.parent.value_or(""), depth, current && *current == r.name});
  });
  return out;
}

void bmBuild(benchmark::State& state) {
  for (auto _ : state) {
    SnapshotTree tree;
    build(tree, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
    benchmark::DoNotOptimize(tree.size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bmBuild)->Args({10000, 0})->Args({10000, 7})->Unit(benchmark::kMillisecond);

void bmTreeStatus(benchmark::State& state) {
  SnapshotTree tree;
  build(tree, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(treeStatus(tree));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bmTreeStatus)->Args({10000, 0})->Args({10000, 7})->Unit(benchmark::kMillisecond);

void bmQueries(benchmark::State& state) {
  SnapshotTree tree;
  build(tree, 10000, static_cast<int>(state.range(0)));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> pick(0, 9999);
  for (auto _ : state) {
    const std::string name = nameOf(pick(rng));
    benchmark::DoNotOptimize(tree.parentOf(name));
    benchmark::DoNotOptimize(tree.childrenOf(name));
    benchmark::DoNotOptimize(tree.depth(name));
    benchmark::DoNotOptimize(tree.checkDeletion(name, DeleteOptions{}));
  }
}
BENCHMARK(bmQueries)->Arg(0)->Arg(7)->Unit(benchmark::kMicrosecond);

void bmRebuild(benchmark::State& state) {
  SnapshotTree source;
  build(source, 10000, static_cast<int>(state.range(0)));
  auto records = source.topologicalOrder();
  std::shuffle(records.begin(), records.end(), std::mt19937(3));
  for (auto _ : state) {
    SnapshotTree tree;
    benchmark::DoNotOptimize(tree.rebuild(records, source.current()));
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(bmRebuild)->Arg(0)->Arg(7)->Unit(benchmark::kMillisecond);

void bmRedefineAll(benchmark::State& state) {
  SnapshotTree source;
  build(source, 10000, static_cast<int>(state.range(0)));
  auto records = source.topologicalOrder();
  std::shuffle(records.begin(), records.end(), std::mt19937(4));
  for (auto _ : state) {
    SnapshotTree tree;
    benchmark::DoNotOptimize(tree.redefineAll(records, source.current()));
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(bmRedefineAll)->Arg(0)->Arg(7)->Unit(benchmark::kMillisecond);

void bmDeleteAllOneByOne(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    SnapshotTree tree;
    build(tree, 10000, static_cast<int>(state.range(0)));
    auto order = tree.topologicalOrder();
    state.ResumeTiming();
    for (const auto& r : order) {
      benchmark::DoNotOptimize(tree.remove(r.name, DeleteOptions{DeleteScope::Snapshot, false}));
    }
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(bmDeleteAllOneByOne)->Arg(0)->Arg(7)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
