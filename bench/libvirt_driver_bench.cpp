// Each LibvirtDriver operation against the same raw libvirt C API calls, on the test driver, in one
// run so the ratio is meaningful. The driver adds: a connection check, a domain lookup by name per
// call, per-domain serialization, XML through libxml2 and typed errors.

#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "drivers/libvirt/libvirt_driver.h"

namespace {

using virtsnap::drivers::DeleteOptions;
using virtsnap::drivers::RevertOptions;
using virtsnap::drivers::SnapshotRequest;
using virtsnap::drivers::libvirt::LibvirtDriver;
using virtsnap::drivers::libvirt::LibvirtDriverOptions;

constexpr const char* kUri = "test:///default";
constexpr const char* kDomain = "test";

void quiet(void*, virErrorPtr) {}

// The raw side keeps its own connection, opened once, as a hand-written client would.
struct Raw {
  Raw() {
    virSetErrorFunc(nullptr, quiet);
    conn = virConnectOpen(kUri);
    dom = virDomainLookupByName(conn, kDomain);
  }
  ~Raw() {
    virDomainFree(dom);
    virConnectClose(conn);
  }
  virConnectPtr conn;
  virDomainPtr dom;
};

LibvirtDriver& driver() {
  static LibvirtDriver instance([] {
    LibvirtDriverOptions options;
    options.uri = kUri;
    options.revertSpacing = std::chrono::milliseconds(0);
    return options;
  }());
  return instance;
}

void createSnapshots(int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i) {
    SnapshotRequest request;
    request.name = prefix + std::to_string(i);
    benchmark::DoNotOptimize(driver().createSnapshot(kDomain, request));
  }
}

void deleteAll() {
  auto listing = driver().listSnapshots(kDomain);
  for (const auto& def : listing.value().snapshots) {
    driver().deleteSnapshot(kDomain, def.name, DeleteOptions{});
  }
}

void bmDriverLookupDomain(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(driver().lookupDomain(kDomain));
  }
}
BENCHMARK(bmDriverLookupDomain);

void bmRawLookupDomain(benchmark::State& state) {
  Raw raw;
  for (auto _ : state) {
    virDomainPtr dom = virDomainLookupByName(raw.conn, kDomain);
    int st = 0;
    int reason = 0;
    char uuid[VIR_UUID_STRING_BUFLEN];
    virDomainGetUUIDString(dom, uuid);
    virDomainGetState(dom, &st, &reason, 0);
    virDomainIsPersistent(dom);
    char* meta =
        virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "https://virtsnap.io/xmlns/owner/v1", 0);
    std::free(meta);
    virDomainFree(dom);
  }
}
BENCHMARK(bmRawLookupDomain);

void bmDriverCreateDeleteSnapshot(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    SnapshotRequest request;
    request.name = "d" + std::to_string(i++);
    benchmark::DoNotOptimize(driver().createSnapshot(kDomain, request));
    benchmark::DoNotOptimize(driver().deleteSnapshot(kDomain, request.name, DeleteOptions{}));
  }
}
BENCHMARK(bmDriverCreateDeleteSnapshot);

void bmRawCreateDeleteSnapshot(benchmark::State& state) {
  Raw raw;
  int i = 0;
  for (auto _ : state) {
    const std::string xml = "<domainsnapshot><name>r" + std::to_string(i++) + "</name></domainsnapshot>";
    virDomainSnapshotPtr snap =
        virDomainSnapshotCreateXML(raw.dom, xml.c_str(), VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
    char* desc = virDomainSnapshotGetXMLDesc(snap, 0);  // the driver returns the new definition too
    std::free(desc);
    virDomainSnapshotDelete(snap, 0);
    virDomainSnapshotFree(snap);
  }
}
BENCHMARK(bmRawCreateDeleteSnapshot);

void bmDriverListSnapshots(benchmark::State& state) {
  createSnapshots(static_cast<int>(state.range(0)), "l");
  for (auto _ : state) {
    benchmark::DoNotOptimize(driver().listSnapshots(kDomain));
  }
  deleteAll();
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bmDriverListSnapshots)->Arg(100)->Unit(benchmark::kMicrosecond);

void bmRawListSnapshots(benchmark::State& state) {
  createSnapshots(static_cast<int>(state.range(0)), "l");
  Raw raw;
  for (auto _ : state) {
    virDomainSnapshotPtr* snaps = nullptr;
    const int n = virDomainListAllSnapshots(raw.dom, &snaps, 0);
    for (int i = 0; i < n; ++i) {
      char* desc = virDomainSnapshotGetXMLDesc(snaps[i], 0);
      benchmark::DoNotOptimize(desc);
      std::free(desc);
      virDomainSnapshotIsCurrent(snaps[i], 0);
      virDomainSnapshotFree(snaps[i]);
    }
    std::free(snaps);
  }
  deleteAll();
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(bmRawListSnapshots)->Arg(100)->Unit(benchmark::kMicrosecond);

void bmDriverRevert(benchmark::State& state) {
  createSnapshots(2, "v");
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(driver().revertToSnapshot(kDomain, (i++ % 2) ? "v0" : "v1", RevertOptions{}));
  }
  deleteAll();
}
BENCHMARK(bmDriverRevert);

void bmRawRevert(benchmark::State& state) {
  createSnapshots(2, "v");
  Raw raw;
  int i = 0;
  for (auto _ : state) {
    // The driver looks the domain and snapshot up on every call; so does this side.
    virDomainPtr dom = virDomainLookupByName(raw.conn, kDomain);
    virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(dom, (i++ % 2) ? "v0" : "v1", 0);
    virDomainRevertToSnapshot(snap, 0);
    virDomainSnapshotFree(snap);
    virDomainFree(dom);
  }
  deleteAll();
}
BENCHMARK(bmRawRevert);

}  // namespace

BENCHMARK_MAIN();
