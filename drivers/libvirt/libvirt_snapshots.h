#pragma once
// Snapshot operations on one libvirt connection, through libvirt's C API. Thread-compatible: libvirt
// connections may be shared across threads; callers serialize mutations of one domain.

#include <memory>
#include <string>

#include "drivers/delete_options.h"
#include "drivers/driver_error.h"
#include "drivers/expected.h"
#include "drivers/libvirt/libvirt_handles.h"
#include "drivers/snapshot_definition.h"

namespace virtsnap::drivers::libvirt {

enum class RevertMode { Default, Running, Paused };

class LibvirtSnapshots {
 public:
  // Opens `uri` (e.g. test:///default, qemu:///system) read-write.
  static Expected<std::unique_ptr<LibvirtSnapshots>, DriverError> open(const std::string& uri);

  // Every snapshot of the domain with its parent, location and definition, plus the current one.
  Expected<SnapshotListing, DriverError> list(const std::string& domain) const;
  Expected<SnapshotDefinition, DriverError> create(const std::string& domain, const SnapshotRequest& request);
  std::optional<DriverError> revert(const std::string& domain, const std::string& snapshot, RevertMode mode,
                                    bool force);
  std::optional<DriverError> remove(const std::string& domain, const std::string& snapshot,
                                    DeleteOptions options);

 private:
  explicit LibvirtSnapshots(ConnectHandle connection) : connection_(std::move(connection)) {}
  Expected<DomainHandle, DriverError> lookup(const std::string& domain) const;
  Expected<SnapshotHandle, DriverError> lookupSnapshot(virDomainPtr domain,
                                                       const std::string& snapshot) const;

  ConnectHandle connection_;
};

}  // namespace virtsnap::drivers::libvirt
