#pragma once
// A HypervisorDriver that times every call of the one it wraps:
// virtsnap_hypervisor_operation_duration_seconds{operation,result} (operation: the method, in
// snake_case, e.g. create_snapshot; result: success or error). Every operation's series exist from
// construction on (empty), so dashboards see them before the first call. Thread-safe as the wrapped
// driver is.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "drivers/hypervisor_driver.h"

namespace virtsnap::agent {

class MeteredDriver final : public drivers::HypervisorDriver {
 public:
  MeteredDriver(drivers::HypervisorDriver& driver, std::shared_ptr<prometheus::Registry> registry);

  // 1 ms to 5 min: a lookup takes a millisecond, a memory snapshot or a revert of a large guest minutes.
  static const std::vector<double>& durationBuckets();
  // The operation label values, one per method of HypervisorDriver.
  static const std::vector<std::string>& operations();

  Expected<drivers::Capabilities, drivers::DriverError> capabilities() override;
  Expected<drivers::GuestOffers, drivers::DriverError> guestOffers() override;
  Expected<drivers::DomainInfo, drivers::DriverError> lookupDomain(const std::string& name) override;
  Expected<drivers::DomainInfo, drivers::DriverError> lookupDomainByUuid(const std::string& uuid) override;
  Expected<drivers::DomainInfo, drivers::DriverError> defineDomain(const drivers::DomainSpec& spec) override;
  Expected<drivers::DomainSpec, drivers::DriverError> definition(const std::string& name) override;
  std::optional<drivers::DriverError> start(const std::string& name) override;
  std::optional<drivers::DriverError> shutdown(const std::string& name,
                                               std::chrono::milliseconds timeout) override;
  std::optional<drivers::DriverError> destroy(const std::string& name) override;
  std::optional<drivers::DriverError> suspend(const std::string& name) override;
  std::optional<drivers::DriverError> resume(const std::string& name) override;
  std::optional<drivers::DriverError> undefine(const std::string& name,
                                               drivers::UndefineOptions options) override;
  Expected<drivers::DomainState, drivers::DriverError> state(const std::string& name) override;
  std::optional<drivers::DriverError> setOwner(const std::string& name,
                                               const std::optional<drivers::Ownership>& owner) override;
  std::optional<drivers::DriverError> setRevertMark(const std::string& name,
                                                    const std::optional<std::string>& revertUid) override;
  Expected<std::optional<std::string>, drivers::DriverError> revertMark(const std::string& name) override;
  Expected<std::string, drivers::DriverError> createVolume(const drivers::VolumeRequest& request) override;
  Expected<std::optional<std::string>, drivers::DriverError> findVolume(const std::string& pool,
                                                                        const std::string& name) override;
  std::optional<drivers::DriverError> deleteVolume(const std::string& path) override;
  Expected<drivers::SnapshotListing, drivers::DriverError> listSnapshots(const std::string& domain) override;
  Expected<drivers::SnapshotShape, drivers::DriverError> listSnapshotShape(
      const std::string& domain) override;
  Expected<std::optional<std::string>, drivers::DriverError> currentSnapshot(
      const std::string& domain) override;
  Expected<std::vector<drivers::SnapshotDefinition>, drivers::DriverError> describeSnapshots(
      const std::string& domain, const std::vector<std::string>& names) override;
  Expected<drivers::SnapshotDefinition, drivers::DriverError> createSnapshot(
      const std::string& domain, const drivers::SnapshotRequest& request) override;
  std::optional<drivers::DriverError> revertToSnapshot(const std::string& domain, const std::string& snapshot,
                                                       drivers::RevertOptions options) override;
  std::optional<drivers::DriverError> deleteSnapshot(const std::string& domain, const std::string& snapshot,
                                                     drivers::DeleteOptions options) override;
  Expected<std::string, drivers::DriverError> snapshotXml(const std::string& domain,
                                                          const std::string& snapshot) override;
  std::optional<drivers::DriverError> redefineSnapshots(
      const std::string& domain, const std::vector<drivers::SnapshotDefinition>& snapshots,
      const std::optional<std::string>& current) override;

 private:
  // Runs `call`, observes its duration under `operation` and whether it failed.
  template <typename Call>
  auto timed(const char* operation, Call&& call);

  drivers::HypervisorDriver& driver_;
  const std::shared_ptr<prometheus::Registry> registry_;  // owns the family
  prometheus::Family<prometheus::Histogram>& duration_;
};

}  // namespace virtsnap::agent
