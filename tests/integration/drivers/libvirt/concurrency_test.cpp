// One LibvirtDriver used from several worker threads at once, as the agent's workers use it: on
// different domains in parallel and on one domain (serialized), the result is the same tree the
// model predicts, and nothing crashes or leaks (this test also runs under AddressSanitizer).

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

TEST(LibvirtDriverThreads, WorkersOnManyDomainsAndOnOneDomainAtOnce) {
  LibvirtDriverOptions options;
  options.uri = "test:///default";
  options.storageRoots = {"/default-pool"};
  options.revertSpacing = std::chrono::milliseconds(0);
  LibvirtDriver driver(options);

  constexpr int kDomains = 4;
  constexpr int kSnapshotsEach = 25;
  for (int d = 0; d < kDomains; ++d) {
    DomainSpec spec;
    spec.name = "worker-" + std::to_string(d);
    spec.type = "test";
    spec.arch = "i686";
    spec.memoryBytes = 64ull << 20;
    ASSERT_TRUE(driver.defineDomain(spec).has_value());
    ASSERT_EQ(driver.start(spec.name), std::nullopt);
  }

  // Two workers per domain: each creates its own snapshots; on one domain they take turns.
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kDomains * 2; ++w) {
    workers.emplace_back([&, w] {
      const std::string domain = "worker-" + std::to_string(w % kDomains);
      for (int i = 0; i < kSnapshotsEach; ++i) {
        SnapshotRequest request;
        request.name = "w" + std::to_string(w) + "-" + std::to_string(i);
        if (!driver.createSnapshot(domain, request).has_value() ||
            !driver.listSnapshots(domain).has_value() || !driver.lookupDomain(domain).has_value()) {
          ++failures;
        }
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  EXPECT_EQ(failures.load(), 0);
  for (int d = 0; d < kDomains; ++d) {
    auto listing = driver.listSnapshots("worker-" + std::to_string(d));
    ASSERT_TRUE(listing.has_value());
    EXPECT_EQ(listing.value().snapshots.size(), 2u * kSnapshotsEach);
    // Creates were serialized, so the snapshots form one chain: every one but the root has a parent
    // and no parent has two children.
    std::map<std::string, int> children;
    int roots = 0;
    for (const auto& def : listing.value().snapshots) {
      if (def.parent) {
        ++children[*def.parent];
      } else {
        ++roots;
      }
    }
    EXPECT_EQ(roots, 1);
    for (const auto& [parent, count] : children) {
      EXPECT_EQ(count, 1) << parent;
    }
  }
  EXPECT_EQ(driver.connectionsOpened(), 1);
}

// The agent's workers all ask for the guest offers (every Domain reconcile does): every answer is the
// host's, and the capabilities are read from libvirt at most once per worker that found the cache empty.
TEST(LibvirtDriverThreads, WorkersShareTheGuestOffersReadOnTheConnection) {
  LibvirtDriverOptions options;
  options.uri = "test:///default";
  LibvirtDriver driver(options);
  constexpr int kWorkers = 8;
  constexpr int kCallsEach = 200;
  const GuestOffers expected{{"i686", {"test"}}};
  std::atomic<int> wrong{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < kCallsEach; ++i) {
        auto offers = driver.guestOffers();
        if (!offers || offers.value() != expected) {
          ++wrong;
        }
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(driver.guestOfferReads(), 1);
  EXPECT_LE(driver.guestOfferReads(), kWorkers);
  EXPECT_EQ(driver.connectionsOpened(), 1);
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
