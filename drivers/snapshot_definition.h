#pragma once
// A snapshot as the hypervisor describes it (what libvirt's snapshot XML holds), and what is asked
// for when one is created.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/snapshot_record.h"

namespace virtsnap::drivers {

struct SnapshotDisk {
  std::string name;      // target dev, e.g. vda
  std::string snapshot;  // libvirt's mode: internal, external, manual or no
  std::string file;      // the overlay file of an external disk snapshot, if any

  bool operator==(const SnapshotDisk&) const = default;
};

// What a create asks for. Names and descriptions are user input: they are escaped by the XML library.
struct SnapshotRequest {
  std::string name;
  std::string description;
  SnapshotLocation location = SnapshotLocation::Internal;
  bool memory = true;      // for External: save a running domain's memory (false: disk-only)
  bool quiesce = false;    // external disk-only: freeze guest filesystems first (needs the guest agent)
  std::string memoryFile;  // external with memory: where the memory state goes
  std::vector<SnapshotDisk> disks;
};

// What the hypervisor reports of an existing snapshot.
struct SnapshotDefinition {
  std::string name;
  std::string description;
  std::optional<std::string> parent;
  std::string state;              // the domain's state when the snapshot was taken (running, shutoff, ...)
  std::int64_t creationTime = 0;  // Unix seconds, the hypervisor's clock
  std::string memory;             // internal, external or no
  std::vector<SnapshotDisk> disks;
  SnapshotLocation location = SnapshotLocation::Internal;
  std::string domainName;  // of the domain definition embedded in the snapshot
  std::string domainUuid;  // (libvirt refuses to redefine it onto a domain with another uuid)
  std::string xml;         // the full definition, kept for redefine

  SnapshotRecord record() const { return SnapshotRecord{name, parent, location}; }
};

}  // namespace virtsnap::drivers

namespace virtsnap::drivers {

// A domain's whole snapshot tree as the hypervisor reports it, in one listing.
struct SnapshotListing {
  std::vector<SnapshotDefinition> snapshots;
  std::optional<std::string> current;
};

// One snapshot's place in its tree, without its definition.
struct SnapshotLink {
  std::string name;
  std::optional<std::string> parent;  // nullopt: a root

  bool operator==(const SnapshotLink&) const = default;
};

// The shape of a domain's snapshot tree (names, parents, current): what the hypervisor reports
// without describing any snapshot, so it costs no definition fetched and no XML parsed.
struct SnapshotShape {
  std::vector<SnapshotLink> snapshots;
  std::optional<std::string> current;
};

}  // namespace virtsnap::drivers
