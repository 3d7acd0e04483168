#pragma once
// What libvirt holds of a domain's snapshots, read on a test's own driver: the tree they make and their
// names, for comparing with the Domain's status tree and the Snapshot objects.

#include <set>
#include <string>
#include <vector>

#include "base/expected.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"

namespace virtsnap::testsupport {

struct LibvirtSnapshots {
  drivers::SnapshotTree tree;
  std::set<std::string> names;
};

// The snapshots of `domainName`; the error is "libvirt: " and libvirt's message.
inline Expected<LibvirtSnapshots, std::string> readLibvirtSnapshots(drivers::libvirt::LibvirtDriver& driver,
                                                                    const std::string& domainName) {
  auto listing = driver.listSnapshots(domainName);
  if (!listing) {
    return unexpected("libvirt: " + listing.error().message);
  }
  LibvirtSnapshots snapshots;
  std::vector<drivers::SnapshotRecord> records;
  for (const auto& definition : listing->snapshots) {
    records.push_back(definition.record());
    snapshots.names.insert(definition.name);
  }
  snapshots.tree.rebuild(records, listing->current);
  return snapshots;
}

}  // namespace virtsnap::testsupport
