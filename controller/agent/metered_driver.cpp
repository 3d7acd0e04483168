#include "controller/agent/metered_driver.h"

#include <type_traits>

namespace virtsnap::agent {
namespace {

template <typename T>
bool succeeded(const Expected<T, drivers::DriverError>& result) {
  return result.has_value();
}

bool succeeded(const std::optional<drivers::DriverError>& result) {
  return !result.has_value();
}

}  // namespace

const std::vector<double>& MeteredDriver::durationBuckets() {
  static const std::vector<double> kBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                            1,     2.5,   5,    10,    30,   60,  120,  300};
  return kBuckets;
}

const std::vector<std::string>& MeteredDriver::operations() {
  static const std::vector<std::string> kOperations{"capabilities",
                                                    "guest_offers",
                                                    "lookup_domain",
                                                    "lookup_domain_by_uuid",
                                                    "define_domain",
                                                    "definition",
                                                    "start",
                                                    "shutdown",
                                                    "destroy",
                                                    "suspend",
                                                    "resume",
                                                    "undefine",
                                                    "state",
                                                    "set_owner",
                                                    "set_revert_mark",
                                                    "read_revert_mark",
                                                    "create_volume",
                                                    "find_volume",
                                                    "delete_volume",
                                                    "list_snapshots",
                                                    "list_snapshot_shape",
                                                    "current_snapshot",
                                                    "describe_snapshots",
                                                    "create_snapshot",
                                                    "revert_to_snapshot",
                                                    "delete_snapshot",
                                                    "snapshot_xml",
                                                    "redefine_snapshots"};
  return kOperations;
}

MeteredDriver::MeteredDriver(drivers::HypervisorDriver& driver,
                             std::shared_ptr<prometheus::Registry> registry)
    : driver_(driver),
      registry_(std::move(registry)),
      duration_(
          prometheus::BuildHistogram()
              .Name("virtsnap_hypervisor_operation_duration_seconds")
              .Help("Duration of the agent's calls into the hypervisor (libvirt), by operation and result.")
              .Register(*registry_)) {
  for (const std::string& operation : operations()) {
    for (const char* result : {"success", "error"}) {
      duration_.Add({{"operation", operation}, {"result", result}}, durationBuckets());
    }
  }
}

template <typename Call>
auto MeteredDriver::timed(const char* operation, Call&& call) {
  const auto started = std::chrono::steady_clock::now();
  auto result = std::forward<Call>(call)();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  duration_
      .Add({{"operation", operation}, {"result", succeeded(result) ? "success" : "error"}}, durationBuckets())
      .Observe(seconds);
  return result;
}

Expected<drivers::Capabilities, drivers::DriverError> MeteredDriver::capabilities() {
  return timed("capabilities", [&] { return driver_.capabilities(); });
}

Expected<drivers::GuestOffers, drivers::DriverError> MeteredDriver::guestOffers() {
  return timed("guest_offers", [&] { return driver_.guestOffers(); });
}

Expected<drivers::DomainInfo, drivers::DriverError> MeteredDriver::lookupDomain(const std::string& name) {
  return timed("lookup_domain", [&] { return driver_.lookupDomain(name); });
}

Expected<drivers::DomainInfo, drivers::DriverError> MeteredDriver::lookupDomainByUuid(
    const std::string& uuid) {
  return timed("lookup_domain_by_uuid", [&] { return driver_.lookupDomainByUuid(uuid); });
}

Expected<drivers::DomainInfo, drivers::DriverError> MeteredDriver::defineDomain(
    const drivers::DomainSpec& spec) {
  return timed("define_domain", [&] { return driver_.defineDomain(spec); });
}

Expected<drivers::DomainSpec, drivers::DriverError> MeteredDriver::definition(const std::string& name) {
  return timed("definition", [&] { return driver_.definition(name); });
}

std::optional<drivers::DriverError> MeteredDriver::start(const std::string& name) {
  return timed("start", [&] { return driver_.start(name); });
}

std::optional<drivers::DriverError> MeteredDriver::shutdown(const std::string& name,
                                                            std::chrono::milliseconds timeout) {
  return timed("shutdown", [&] { return driver_.shutdown(name, timeout); });
}

std::optional<drivers::DriverError> MeteredDriver::destroy(const std::string& name) {
  return timed("destroy", [&] { return driver_.destroy(name); });
}

std::optional<drivers::DriverError> MeteredDriver::suspend(const std::string& name) {
  return timed("suspend", [&] { return driver_.suspend(name); });
}

std::optional<drivers::DriverError> MeteredDriver::resume(const std::string& name) {
  return timed("resume", [&] { return driver_.resume(name); });
}

std::optional<drivers::DriverError> MeteredDriver::undefine(const std::string& name,
                                                            drivers::UndefineOptions options) {
  return timed("undefine", [&] { return driver_.undefine(name, options); });
}

Expected<drivers::DomainState, drivers::DriverError> MeteredDriver::state(const std::string& name) {
  return timed("state", [&] { return driver_.state(name); });
}

std::optional<drivers::DriverError> MeteredDriver::setOwner(const std::string& name,
                                                            const std::optional<drivers::Ownership>& owner) {
  return timed("set_owner", [&] { return driver_.setOwner(name, owner); });
}

std::optional<drivers::DriverError> MeteredDriver::setRevertMark(
    const std::string& name, const std::optional<std::string>& revertUid) {
  return timed("set_revert_mark", [&] { return driver_.setRevertMark(name, revertUid); });
}

Expected<std::optional<std::string>, drivers::DriverError> MeteredDriver::revertMark(
    const std::string& name) {
  return timed("read_revert_mark", [&] { return driver_.revertMark(name); });
}

Expected<std::string, drivers::DriverError> MeteredDriver::createVolume(
    const drivers::VolumeRequest& request) {
  return timed("create_volume", [&] { return driver_.createVolume(request); });
}

Expected<std::optional<std::string>, drivers::DriverError> MeteredDriver::findVolume(
    const std::string& pool, const std::string& name) {
  return timed("find_volume", [&] { return driver_.findVolume(pool, name); });
}

std::optional<drivers::DriverError> MeteredDriver::deleteVolume(const std::string& path) {
  return timed("delete_volume", [&] { return driver_.deleteVolume(path); });
}

Expected<drivers::SnapshotListing, drivers::DriverError> MeteredDriver::listSnapshots(
    const std::string& domain) {
  return timed("list_snapshots", [&] { return driver_.listSnapshots(domain); });
}

Expected<drivers::SnapshotShape, drivers::DriverError> MeteredDriver::listSnapshotShape(
    const std::string& domain) {
  return timed("list_snapshot_shape", [&] { return driver_.listSnapshotShape(domain); });
}

Expected<std::optional<std::string>, drivers::DriverError> MeteredDriver::currentSnapshot(
    const std::string& domain) {
  return timed("current_snapshot", [&] { return driver_.currentSnapshot(domain); });
}

Expected<std::vector<drivers::SnapshotDefinition>, drivers::DriverError> MeteredDriver::describeSnapshots(
    const std::string& domain, const std::vector<std::string>& names) {
  return timed("describe_snapshots", [&] { return driver_.describeSnapshots(domain, names); });
}

Expected<drivers::SnapshotDefinition, drivers::DriverError> MeteredDriver::createSnapshot(
    const std::string& domain, const drivers::SnapshotRequest& request) {
  return timed("create_snapshot", [&] { return driver_.createSnapshot(domain, request); });
}

std::optional<drivers::DriverError> MeteredDriver::revertToSnapshot(const std::string& domain,
                                                                    const std::string& snapshot,
                                                                    drivers::RevertOptions options) {
  return timed("revert_to_snapshot", [&] { return driver_.revertToSnapshot(domain, snapshot, options); });
}

std::optional<drivers::DriverError> MeteredDriver::deleteSnapshot(const std::string& domain,
                                                                  const std::string& snapshot,
                                                                  drivers::DeleteOptions options) {
  return timed("delete_snapshot", [&] { return driver_.deleteSnapshot(domain, snapshot, options); });
}

Expected<std::string, drivers::DriverError> MeteredDriver::snapshotXml(const std::string& domain,
                                                                       const std::string& snapshot) {
  return timed("snapshot_xml", [&] { return driver_.snapshotXml(domain, snapshot); });
}

std::optional<drivers::DriverError> MeteredDriver::redefineSnapshots(
    const std::string& domain, const std::vector<drivers::SnapshotDefinition>& snapshots,
    const std::optional<std::string>& current) {
  return timed("redefine_snapshots", [&] { return driver_.redefineSnapshots(domain, snapshots, current); });
}

}  // namespace virtsnap::agent
