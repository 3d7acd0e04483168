#pragma once
// HypervisorDriver on libvirt's C API. Every handle is owned (RAII); every error comes back as a
// DriverError; reads that fail because libvirtd went away are retried once on a new connection
// (mutations are not: the caller re-reads the state and decides). Mutations of one domain are
// serialized and reverts of one domain spaced (DomainSerializer).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "drivers/domain_serializer.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/libvirt/libvirt_connection.h"
#include "drivers/storage_roots.h"

namespace virtsnap::drivers::libvirt {

struct LibvirtDriverOptions {
  std::string uri = "test:///default";
  std::vector<std::filesystem::path> storageRoots;
  std::chrono::milliseconds revertSpacing = std::chrono::seconds(1);
  std::chrono::milliseconds shutdownPoll = std::chrono::milliseconds(200);
};

class LibvirtDriver final : public HypervisorDriver {
 public:
  explicit LibvirtDriver(LibvirtDriverOptions options, ClockPtr clock = systemClock());

  Expected<Capabilities, DriverError> capabilities() override;
  // Read from the host capabilities once per connection (a reconnect reads them again).
  Expected<GuestOffers, DriverError> guestOffers() override;

  Expected<DomainInfo, DriverError> lookupDomain(const std::string& name) override;
  Expected<DomainInfo, DriverError> lookupDomainByUuid(const std::string& uuid) override;
  Expected<DomainSpec, DriverError> definition(const std::string& name) override;
  Expected<DomainInfo, DriverError> defineDomain(const DomainSpec& spec) override;
  std::optional<DriverError> start(const std::string& name) override;
  std::optional<DriverError> shutdown(const std::string& name, std::chrono::milliseconds timeout) override;
  std::optional<DriverError> destroy(const std::string& name) override;
  std::optional<DriverError> suspend(const std::string& name) override;
  std::optional<DriverError> resume(const std::string& name) override;
  std::optional<DriverError> undefine(const std::string& name, UndefineOptions options) override;
  Expected<DomainState, DriverError> state(const std::string& name) override;
  std::optional<DriverError> setOwner(const std::string& name,
                                      const std::optional<Ownership>& owner) override;
  std::optional<DriverError> setRevertMark(const std::string& name,
                                           const std::optional<std::string>& revertUid) override;
  Expected<std::optional<std::string>, DriverError> revertMark(const std::string& name) override;

  Expected<std::string, DriverError> createVolume(const VolumeRequest& request) override;
  Expected<std::optional<std::string>, DriverError> findVolume(const std::string& pool,
                                                               const std::string& name) override;
  std::optional<DriverError> deleteVolume(const std::string& path) override;

  Expected<SnapshotListing, DriverError> listSnapshots(const std::string& domain) override;
  // virDomainListAllSnapshots (all, then roots), virDomainSnapshotGetParent for the others and
  // virDomainSnapshotCurrent: no snapshot XML fetched.
  Expected<SnapshotShape, DriverError> listSnapshotShape(const std::string& domain) override;
  // virDomainSnapshotCurrent.
  Expected<std::optional<std::string>, DriverError> currentSnapshot(const std::string& domain) override;
  Expected<std::vector<SnapshotDefinition>, DriverError> describeSnapshots(
      const std::string& domain, const std::vector<std::string>& names) override;
  Expected<SnapshotDefinition, DriverError> createSnapshot(const std::string& domain,
                                                           const SnapshotRequest& request) override;
  std::optional<DriverError> revertToSnapshot(const std::string& domain, const std::string& snapshot,
                                              RevertOptions options) override;
  std::optional<DriverError> deleteSnapshot(const std::string& domain, const std::string& snapshot,
                                            DeleteOptions options) override;
  Expected<std::string, DriverError> snapshotXml(const std::string& domain,
                                                 const std::string& snapshot) override;
  std::optional<DriverError> redefineSnapshots(const std::string& domain,
                                               const std::vector<SnapshotDefinition>& snapshots,
                                               const std::optional<std::string>& current) override;

  // How many connections were opened so far (1 without reconnects).
  int connectionsOpened() const { return connection_.opens(); }
  // How many times guestOffers() read the host capabilities from libvirt (not from its cache).
  int guestOfferReads() const { return guestOfferReads_.load(); }

 private:
  struct Done {};
  template <typename T>
  using Result = Expected<T, DriverError>;
  enum class Access { Read, Write };

  // Runs `call` on a live connection. A read whose failure shows that libvirtd went away is retried
  // once on a new connection.
  template <typename T, typename Call>
  Result<T> run(Access access, Call&& call);
  // Looks up `name` and runs `call` on it, as run() does.
  template <typename T, typename Call>
  Result<T> onDomain(const std::string& name, Access access, Call&& call);
  std::optional<DriverError> simple(const std::string& name, const char* what, int (*call)(virDomainPtr));

  LibvirtDriverOptions options_;
  ClockPtr clock_;
  StorageRoots roots_;
  LibvirtConnection connection_;
  DomainSerializer serializer_;
  std::mutex guestOffersMutex_;                      // guards the two below
  std::weak_ptr<virConnect> guestOffersConnection_;  // the connection guestOffers_ was read on
  std::optional<GuestOffers> guestOffers_;
  std::atomic<int> guestOfferReads_{0};
};

}  // namespace virtsnap::drivers::libvirt
