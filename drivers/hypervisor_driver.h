#pragma once
// The hypervisor as the reconcilers see it: whole operations on domains and their snapshots, each
// returning a value or a typed DriverError (never an exception). Implementations: drivers/libvirt.
//
// Guarantees every implementation gives:
// - Mutations of one domain are serialized; different domains proceed in parallel.
// - Two reverts of one domain are at least a second apart (libvirt names revert overlays by Unix
//   seconds; two in one second collide).
// - A refused snapshot deletion carries the same DeletionBlock reason the tree model predicts.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.h"
#include "drivers/delete_options.h"
#include "drivers/domain_spec.h"
#include "drivers/driver_error.h"
#include "drivers/snapshot_definition.h"

namespace virtsnap::drivers {

// What the connected host can do; reported rather than guessed.
struct Capabilities {
  std::string uri;
  std::string hypervisorType;           // "QEMU", "TEST", ...
  std::uint64_t libraryVersion = 0;     // libvirt's, as major * 1,000,000 + minor * 1,000 + release
  std::uint64_t hypervisorVersion = 0;  // the hypervisor's, same encoding
  bool externalSnapshots = false;       // <externalSnapshot/> in the host capabilities
  bool externalRevert = false;          // libvirt >= 9.9 with external snapshots
  bool diskOnlySnapshots = false;       // the test driver has none
  bool metadataOnlyDelete = false;      // the test driver has none
};

// One guest architecture the host offers and the domain types (DomainSpec::type) it offers for it: what
// defineDomain can be asked for on this host. Architectures in order, their types in order and unique.
struct GuestOffer {
  std::string arch;                      // "x86_64", "i686", ...
  std::vector<std::string> domainTypes;  // "kvm", "qemu", "test", ...

  bool operator==(const GuestOffer&) const = default;
};
using GuestOffers = std::vector<GuestOffer>;

enum class DomainState { NoState, Running, Blocked, Paused, ShuttingDown, Shutoff, Crashed, PMSuspended };
std::string_view toString(DomainState state);

struct DomainInfo {
  std::string name;
  std::string uuid;
  DomainState state = DomainState::NoState;
  bool persistent = true;
  std::optional<Ownership> owner;  // nullopt: not virtsnap's (or not yet)
};

enum class RevertMode { Default, Running, Paused };
struct RevertOptions {
  RevertMode mode = RevertMode::Default;
  bool force = false;
};

struct UndefineOptions {
  bool snapshotsMetadata = true;
  bool nvram = true;
};

struct VolumeRequest {
  std::string pool;  // a libvirt storage pool (directory type)
  std::string name;
  std::uint64_t capacityBytes = 0;
  std::string format = "qcow2";
};

class HypervisorDriver {
 public:
  virtual ~HypervisorDriver() = default;

  virtual Expected<Capabilities, DriverError> capabilities() = 0;
  // The guest architectures and domain types defineDomain accepts on this host, as the host reports
  // them. They do not change while connected: an implementation may read them once per connection.
  virtual Expected<GuestOffers, DriverError> guestOffers() = 0;

  virtual Expected<DomainInfo, DriverError> lookupDomain(const std::string& name) = 0;
  virtual Expected<DomainInfo, DriverError> lookupDomainByUuid(const std::string& uuid) = 0;
  // Defines the domain (or redefines it in place when one of that name exists).
  virtual Expected<DomainInfo, DriverError> defineDomain(const DomainSpec& spec) = 0;
  // The domain's persistent definition as the hypervisor holds it now, in DomainSpec terms (without
  // the owner: lookupDomain reports that), for finding changes made behind virtsnap's back.
  virtual Expected<DomainSpec, DriverError> definition(const std::string& name) = 0;
  virtual std::optional<DriverError> start(const std::string& name) = 0;
  // Asks the guest to shut down; destroys it when it has not stopped after `timeout`.
  virtual std::optional<DriverError> shutdown(const std::string& name, std::chrono::milliseconds timeout) = 0;
  virtual std::optional<DriverError> destroy(const std::string& name) = 0;
  virtual std::optional<DriverError> suspend(const std::string& name) = 0;
  virtual std::optional<DriverError> resume(const std::string& name) = 0;
  virtual std::optional<DriverError> undefine(const std::string& name, UndefineOptions options) = 0;
  virtual Expected<DomainState, DriverError> state(const std::string& name) = 0;
  virtual std::optional<DriverError> setOwner(const std::string& name,
                                              const std::optional<Ownership>& owner) = 0;
  // The revert about to be made, written into the domain (persistent and live definitions) before the
  // revert: a revert replaces the definitions with the snapshot's, which removes the mark, so after a
  // restart a mark still there says the revert was not made, one gone says it was (for a revert to
  // the snapshot that is current already, nothing else tells). nullopt removes it.
  virtual std::optional<DriverError> setRevertMark(const std::string& name,
                                                   const std::optional<std::string>& revertUid) = 0;
  // The mark, nullopt when there is none or when the live definition of a running domain lacks the
  // persistent one's (either replaced by a revert).
  virtual Expected<std::optional<std::string>, DriverError> revertMark(const std::string& name) = 0;

  // Creates a volume in a storage pool; returns its path.
  virtual Expected<std::string, DriverError> createVolume(const VolumeRequest& request) = 0;
  // The path of the volume `name` in `pool`, or nullopt when the pool has none of that name (so a
  // create that was done before an agent restart is found, not repeated).
  virtual Expected<std::optional<std::string>, DriverError> findVolume(const std::string& pool,
                                                                       const std::string& name) = 0;
  virtual std::optional<DriverError> deleteVolume(const std::string& path) = 0;

  // Every snapshot with its definition: one description per snapshot.
  virtual Expected<SnapshotListing, DriverError> listSnapshots(const std::string& domain) = 0;
  // The tree's shape only (names, parents, current), no definition fetched: what a view that keeps
  // the definitions it has already seen lists on every refresh.
  virtual Expected<SnapshotShape, DriverError> listSnapshotShape(const std::string& domain) = 0;
  // The current snapshot's name; nullopt when none is current.
  virtual Expected<std::optional<std::string>, DriverError> currentSnapshot(const std::string& domain) = 0;
  // The definitions of the named snapshots, in the order given; NotFound names the first that is gone.
  virtual Expected<std::vector<SnapshotDefinition>, DriverError> describeSnapshots(
      const std::string& domain, const std::vector<std::string>& names) = 0;
  virtual Expected<SnapshotDefinition, DriverError> createSnapshot(const std::string& domain,
                                                                   const SnapshotRequest& request) = 0;
  virtual std::optional<DriverError> revertToSnapshot(const std::string& domain, const std::string& snapshot,
                                                      RevertOptions options) = 0;
  virtual std::optional<DriverError> deleteSnapshot(const std::string& domain, const std::string& snapshot,
                                                    DeleteOptions options) = 0;
  virtual Expected<std::string, DriverError> snapshotXml(const std::string& domain,
                                                         const std::string& snapshot) = 0;
  // Redefines the snapshots from their recorded XML, parents before children, marking `current`.
  // All-or-nothing: on failure every snapshot redefined by this call is removed again and the error
  // names the snapshot that failed.
  virtual std::optional<DriverError> redefineSnapshots(const std::string& domain,
                                                       const std::vector<SnapshotDefinition>& snapshots,
                                                       const std::optional<std::string>& current) = 0;
};

using HypervisorDriverPtr = std::unique_ptr<HypervisorDriver>;

}  // namespace virtsnap::drivers
