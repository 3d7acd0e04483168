#include "drivers/libvirt/libvirt_snapshots.h"

#include <cstdlib>

#include "drivers/libvirt/libvirt_error.h"
#include "drivers/libvirt/snapshot_xml.h"

namespace virtsnap::drivers::libvirt {

namespace {

struct CharFreer {
  void operator()(char* p) const { std::free(p); }  // libvirt allocates returned strings with malloc
};

Expected<SnapshotDefinition, DriverError> describe(virDomainSnapshotPtr snapshot,
                                                   const std::string& context) {
  std::unique_ptr<char, CharFreer> xml(virDomainSnapshotGetXMLDesc(snapshot, 0));
  if (!xml) {
    return lastLibvirtError(context);
  }
  return parseSnapshotXml(xml.get());
}

}  // namespace

Expected<std::unique_ptr<LibvirtSnapshots>, DriverError> LibvirtSnapshots::open(const std::string& uri) {
  silenceLibvirtErrorPrinting();
  ConnectHandle connection(virConnectOpen(uri.c_str()));
  if (!connection) {
    return lastLibvirtError("connecting to " + uri);
  }
  return std::unique_ptr<LibvirtSnapshots>(new LibvirtSnapshots(std::move(connection)));
}

Expected<DomainHandle, DriverError> LibvirtSnapshots::lookup(const std::string& domain) const {
  DomainHandle handle(virDomainLookupByName(connection_.get(), domain.c_str()));
  if (!handle) {
    return lastLibvirtError("looking up domain '" + domain + "'");
  }
  return handle;
}

Expected<SnapshotHandle, DriverError> LibvirtSnapshots::lookupSnapshot(virDomainPtr domain,
                                                                       const std::string& snapshot) const {
  SnapshotHandle handle(virDomainSnapshotLookupByName(domain, snapshot.c_str(), 0));
  if (!handle) {
    return lastLibvirtError("looking up snapshot '" + snapshot + "'");
  }
  return handle;
}

Expected<SnapshotListing, DriverError> LibvirtSnapshots::list(const std::string& domain) const {
  auto dom = lookup(domain);
  if (!dom) {
    return dom.error();
  }
  virDomainSnapshotPtr* raw = nullptr;
  const int count = virDomainListAllSnapshots(dom.value().get(), &raw, 0);
  if (count < 0) {
    return lastLibvirtError("listing snapshots of domain '" + domain + "'");
  }
  // Own every handle at once, so an early return below frees them all.
  std::vector<SnapshotHandle> handles;
  handles.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    handles.emplace_back(raw[i]);
  }
  std::free(raw);

  SnapshotListing listing;
  listing.snapshots.reserve(handles.size());
  for (const SnapshotHandle& handle : handles) {
    auto def = describe(handle.get(), "describing a snapshot of domain '" + domain + "'");
    if (!def) {
      return def.error();
    }
    const int current = virDomainSnapshotIsCurrent(handle.get(), 0);
    if (current < 0) {
      return lastLibvirtError("asking whether snapshot '" + def.value().name + "' is current");
    }
    if (current == 1) {
      listing.current = def.value().name;
    }
    listing.snapshots.push_back(std::move(def).value());
  }
  return listing;
}

Expected<SnapshotDefinition, DriverError> LibvirtSnapshots::create(const std::string& domain,
                                                                   const SnapshotRequest& request) {
  auto dom = lookup(domain);
  if (!dom) {
    return dom.error();
  }
  auto xml = renderSnapshotXml(request);
  if (!xml) {
    return xml.error();
  }
  unsigned int flags = 0;
  if (request.location == SnapshotLocation::External && !request.memory) {
    flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
  }
  SnapshotHandle made(virDomainSnapshotCreateXML(dom.value().get(), xml.value().c_str(), flags));
  if (!made) {
    return lastLibvirtError("creating snapshot '" + request.name + "' of domain '" + domain + "'");
  }
  return describe(made.get(), "describing new snapshot '" + request.name + "'");
}

std::optional<DriverError> LibvirtSnapshots::revert(const std::string& domain, const std::string& snapshot,
                                                    RevertMode mode, bool force) {
  auto dom = lookup(domain);
  if (!dom) {
    return dom.error();
  }
  auto snap = lookupSnapshot(dom.value().get(), snapshot);
  if (!snap) {
    return snap.error();
  }
  unsigned int flags = force ? VIR_DOMAIN_SNAPSHOT_REVERT_FORCE : 0;
  if (mode == RevertMode::Running) {
    flags |= VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING;
  } else if (mode == RevertMode::Paused) {
    flags |= VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
  }
  if (virDomainRevertToSnapshot(snap.value().get(), flags) < 0) {
    return lastLibvirtError("reverting domain '" + domain + "' to snapshot '" + snapshot + "'");
  }
  return std::nullopt;
}

std::optional<DriverError> LibvirtSnapshots::remove(const std::string& domain, const std::string& snapshot,
                                                    DeleteOptions options) {
  auto dom = lookup(domain);
  if (!dom) {
    return dom.error();
  }
  auto snap = lookupSnapshot(dom.value().get(), snapshot);
  if (!snap) {
    return snap.error();
  }
  unsigned int flags = options.metadataOnly ? VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY : 0;
  if (options.scope == DeleteScope::Children) {
    flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN;
  } else if (options.scope == DeleteScope::ChildrenOnly) {
    flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY;
  }
  if (virDomainSnapshotDelete(snap.value().get(), flags) < 0) {
    auto error = lastLibvirtError("deleting snapshot '" + snapshot + "' of domain '" + domain + "'");
    if (error.block) {
      error.block->snapshot = snapshot;
    }
    return error;
  }
  return std::nullopt;
}

}  // namespace virtsnap::drivers::libvirt
