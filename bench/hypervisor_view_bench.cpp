// The per-domain hypervisor view's refresh (reconcilers/hypervisor_views.h) on libvirt's test driver
// at 100 and 1,000 snapshots, in one run against:
// - raw shape: the C API calls a refresh makes (virDomainListAllSnapshots, all and roots,
//   virDomainSnapshotGetParent per non-root, virDomainSnapshotCurrent), written by hand;
// - full parse: LibvirtDriver::listSnapshots, which fetches and parses every snapshot's XML (what a
//   refresh cost before the view kept its definitions);
// - raw full: the C API calls of a full listing (virDomainSnapshotGetXMLDesc and
//   virDomainSnapshotIsCurrent per snapshot), unparsed.
// "refresh after a create" is a refresh that finds one new snapshot (a create and a delete per
// iteration, two refreshes: the create's and the delete's); "apply own create" is what the agent does
// instead after its own create and deletion (HypervisorViews::applyCreated, applyDeleted: no listing). The
// ratios (of CPU time: everything runs in this process, and the machine may be shared) are printed after the
// table.

#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "reconcilers/hypervisor_views.h"

namespace {

using virtsnap::drivers::DeleteOptions;
using virtsnap::drivers::RevertOptions;
using virtsnap::drivers::SnapshotRequest;
using virtsnap::drivers::libvirt::LibvirtDriver;
using virtsnap::drivers::libvirt::LibvirtDriverOptions;
using virtsnap::reconcilers::HypervisorViews;

constexpr const char* kUri = "test:///default";
constexpr const char* kDomain = "test";

void quiet(void* /*unused*/, virErrorPtr /*unused*/) {}

LibvirtDriver& driver() {
  static LibvirtDriver instance([] {
    LibvirtDriverOptions options;
    options.uri = kUri;
    options.revertSpacing = std::chrono::milliseconds(0);
    return options;
  }());
  return instance;
}

// `n` snapshots; every eighth create first reverts to a random earlier one, so the tree branches.
void ensureSnapshots(int n) {
  auto listing = driver().listSnapshots(kDomain);
  if (listing && static_cast<int>(listing->snapshots.size()) == n) {
    return;
  }
  for (const auto& root : listing.value().snapshots) {
    if (!root.parent) {
      driver().deleteSnapshot(kDomain, root.name,
                              DeleteOptions{virtsnap::drivers::DeleteScope::Children, false});
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    if (i > 0 && i % 8 == 0) {
      const int target = std::uniform_int_distribution<int>(0, i - 1)(rng);
      driver().revertToSnapshot(kDomain, "s" + std::to_string(target), RevertOptions{});
    }
    SnapshotRequest request;
    request.name = "s" + std::to_string(i);
    if (!driver().createSnapshot(kDomain, request)) {
      std::abort();
    }
  }
}

void bmViewRefresh(benchmark::State& state) {
  ensureSnapshots(static_cast<int>(state.range(0)));
  HypervisorViews views(driver());
  auto access = views.access(kDomain);
  if (!views.refresh(access)) {
    std::abort();
  }
  for (auto _ : state) {
    auto change = views.refresh(access);
    benchmark::DoNotOptimize(change);
  }
}
BENCHMARK(bmViewRefresh)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// One create and one deletion of "extra" per iteration, made on the driver untimed; only what the
// view does after each (`afterCreate(views, access, created)`, `afterDelete(views, access)`) is timed.
template <typename AfterCreate, typename AfterDelete>
void timeViewAfterOwnOperations(benchmark::State& state, AfterCreate afterCreate, AfterDelete afterDelete) {
  ensureSnapshots(static_cast<int>(state.range(0)));
  HypervisorViews views(driver());
  auto access = views.access(kDomain);
  if (!views.refresh(access)) {
    std::abort();
  }
  for (auto _ : state) {
    state.PauseTiming();
    SnapshotRequest request;
    request.name = "extra";
    auto created = driver().createSnapshot(kDomain, request);
    if (!created) {
      std::abort();
    }
    state.ResumeTiming();
    afterCreate(views, access, std::move(created).value());
    state.PauseTiming();
    driver().deleteSnapshot(kDomain, "extra", DeleteOptions{});
    state.ResumeTiming();
    afterDelete(views, access);
  }
}

void bmViewRefreshAfterCreate(benchmark::State& state) {
  const auto relist = [](HypervisorViews& views, auto& access, auto&&...) {
    benchmark::DoNotOptimize(views.refresh(access));
  };
  timeViewAfterOwnOperations(state, relist, relist);
}
BENCHMARK(bmViewRefreshAfterCreate)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

void bmViewApplyOwnCreate(benchmark::State& state) {
  timeViewAfterOwnOperations(
      state,
      [](HypervisorViews& views, auto& access, auto created) {
        benchmark::DoNotOptimize(views.applyCreated(access, std::move(created)));
      },
      [](HypervisorViews& views, auto& access) {
        benchmark::DoNotOptimize(views.applyDeleted(access, "extra", DeleteOptions{}));
      });
}
BENCHMARK(bmViewApplyOwnCreate)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

void bmRawShape(benchmark::State& state) {
  ensureSnapshots(static_cast<int>(state.range(0)));
  virSetErrorFunc(nullptr, quiet);
  virConnectPtr conn = virConnectOpen(kUri);
  virDomainPtr dom = virDomainLookupByName(conn, kDomain);
  for (auto _ : state) {
    virDomainSnapshotPtr* all = nullptr;
    const int n = virDomainListAllSnapshots(dom, &all, 0);
    virDomainSnapshotPtr* roots = nullptr;
    const int r = virDomainListAllSnapshots(dom, &roots, VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
    std::set<std::string, std::less<>> rootNames;
    for (int i = 0; i < r; ++i) {
      rootNames.emplace(virDomainSnapshotGetName(roots[i]));
      virDomainSnapshotFree(roots[i]);
    }
    std::free(roots);
    for (int i = 0; i < n; ++i) {
      if (!rootNames.contains(virDomainSnapshotGetName(all[i]))) {
        virDomainSnapshotPtr parent = virDomainSnapshotGetParent(all[i], 0);
        benchmark::DoNotOptimize(virDomainSnapshotGetName(parent));
        virDomainSnapshotFree(parent);
      }
      virDomainSnapshotFree(all[i]);
    }
    std::free(all);
    virDomainSnapshotPtr current = virDomainSnapshotCurrent(dom, 0);
    virDomainSnapshotFree(current);
  }
  virDomainFree(dom);
  virConnectClose(conn);
}
BENCHMARK(bmRawShape)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

void bmFullParse(benchmark::State& state) {
  ensureSnapshots(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(driver().listSnapshots(kDomain));
  }
}
BENCHMARK(bmFullParse)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

void bmRawFull(benchmark::State& state) {
  ensureSnapshots(static_cast<int>(state.range(0)));
  virSetErrorFunc(nullptr, quiet);
  virConnectPtr conn = virConnectOpen(kUri);
  virDomainPtr dom = virDomainLookupByName(conn, kDomain);
  for (auto _ : state) {
    virDomainSnapshotPtr* snaps = nullptr;
    const int n = virDomainListAllSnapshots(dom, &snaps, 0);
    for (int i = 0; i < n; ++i) {
      char* desc = virDomainSnapshotGetXMLDesc(snaps[i], 0);
      benchmark::DoNotOptimize(desc);
      std::free(desc);
      virDomainSnapshotIsCurrent(snaps[i], 0);
      virDomainSnapshotFree(snaps[i]);
    }
    std::free(snaps);
  }
  virDomainFree(dom);
  virConnectClose(conn);
}
BENCHMARK(bmRawFull)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Keeps every run's time per iteration so the ratios can be printed after the table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration) {
        times_[run.benchmark_name()] = run.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void printRatios() const {
    for (const char* n : {"100", "1000"}) {
      auto at = [&](const std::string& name) {
        auto it = times_.find(name + "/" + n);
        return it == times_.end() ? 0.0 : it->second;
      };
      const double view = at("bmViewRefresh");
      const double created = at("bmViewRefreshAfterCreate") / 2;
      const double applied = at("bmViewApplyOwnCreate") / 2;
      const double rawShape = at("bmRawShape");
      const double full = at("bmFullParse");
      const double rawFull = at("bmRawFull");
      if (view == 0 || rawShape == 0 || full == 0 || rawFull == 0) {
        continue;
      }
      std::cout << n << " snapshots: view refresh / raw shape calls = " << view / rawShape
                << "x; view refresh / old full parse = " << view / full
                << "x; refresh finding one new snapshot / raw shape calls = " << created / rawShape
                << "x; applying an own operation / refresh finding it = " << applied / created
                << "x; old full parse / raw full calls = " << full / rawFull
                << "x; raw shape calls / raw full calls = " << rawShape / rawFull << "x\n";
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.printRatios();
  benchmark::Shutdown();
  return 0;
}
