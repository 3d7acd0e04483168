#include "drivers/libvirt/libvirt_driver.h"

#include <array>
#include <set>
#include <unordered_map>

#include <libvirt/virterror.h>

#include "drivers/libvirt/capabilities_xml.h"
#include "drivers/libvirt/domain_xml.h"
#include "drivers/libvirt/libvirt_error.h"
#include "drivers/libvirt/libvirt_handles.h"
#include "drivers/libvirt/revert_mark_xml.h"
#include "drivers/libvirt/snapshot_xml.h"
#include "drivers/libvirt/xml_document.h"
#include "drivers/snapshot_tree.h"

namespace virtsnap::drivers::libvirt {

namespace {

// libvirt encodes versions as major * 1,000,000 + minor * 1,000 + release.
constexpr std::uint64_t kExternalRevertVersion = 9'009'000;

DomainState stateFrom(int state) {
  switch (state) {
    case VIR_DOMAIN_RUNNING:
      return DomainState::Running;
    case VIR_DOMAIN_BLOCKED:
      return DomainState::Blocked;
    case VIR_DOMAIN_PAUSED:
      return DomainState::Paused;
    case VIR_DOMAIN_SHUTDOWN:
      return DomainState::ShuttingDown;
    case VIR_DOMAIN_SHUTOFF:
      return DomainState::Shutoff;
    case VIR_DOMAIN_CRASHED:
      return DomainState::Crashed;
    case VIR_DOMAIN_PMSUSPENDED:
      return DomainState::PMSuspended;
    default:
      return DomainState::NoState;
  }
}

Expected<DomainState, DriverError> readState(virDomainPtr dom) {
  // Every libvirt call resets the thread's last error, so names are read before the call that may fail.
  const std::string name = virDomainGetName(dom);
  int state = 0;
  int reason = 0;
  if (virDomainGetState(dom, &state, &reason, 0) < 0) {
    return lastLibvirtError("reading the state of domain '" + name + "'");
  }
  return stateFrom(state);
}

Expected<std::optional<Ownership>, DriverError> readOwner(virDomainPtr dom) {
  const std::string name = virDomainGetName(dom);
  LibvirtString xml(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                         std::string(kOwnerNamespaceUri).c_str(), VIR_DOMAIN_AFFECT_CURRENT));
  if (!xml) {
    virErrorPtr last = virGetLastError();
    if (last != nullptr && last->code == VIR_ERR_NO_DOMAIN_METADATA) {
      return std::optional<Ownership>{};
    }
    return lastLibvirtError("reading the owner of domain '" + name + "'");
  }
  auto owner = parseOwnerElement(xml.get());
  if (!owner) {
    return owner.error();
  }
  return std::optional<Ownership>(owner.value());
}

// virtsnap's revert mark in one of the domain's definitions (`flags`: VIR_DOMAIN_AFFECT_CONFIG or _LIVE).
Expected<std::optional<std::string>, DriverError> readRevertMark(virDomainPtr dom, unsigned flags) {
  const std::string name = virDomainGetName(dom);
  LibvirtString xml(virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                         std::string(kRevertMarkNamespaceUri).c_str(), flags));
  if (!xml) {
    virErrorPtr last = virGetLastError();
    if (last != nullptr && last->code == VIR_ERR_NO_DOMAIN_METADATA) {
      return std::optional<std::string>{};
    }
    return lastLibvirtError("reading the revert mark of domain '" + name + "'");
  }
  auto uid = parseRevertMarkElement(xml.get());
  if (!uid) {
    return uid.error();
  }
  return std::optional(uid.value());
}

// Writes (or with nullopt removes) the mark in the definitions `flags` names.
std::optional<DriverError> writeRevertMark(virDomainPtr dom, const std::optional<std::string>& uid,
                                           unsigned flags) {
  const std::string name = virDomainGetName(dom);
  std::string element;
  if (uid) {
    auto rendered = renderRevertMarkElement(*uid);
    if (!rendered) {
      return rendered.error();
    }
    element = rendered.value();
  }
  const std::string uri(kRevertMarkNamespaceUri);
  const std::string prefix(kRevertMarkPrefix);
  if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, uid ? element.c_str() : nullptr,
                           uid ? prefix.c_str() : nullptr, uri.c_str(), flags) < 0) {
    return lastLibvirtError("writing the revert mark of domain '" + name + "'");
  }
  return std::nullopt;
}

Expected<DomainInfo, DriverError> describeDomain(virDomainPtr dom) {
  DomainInfo info;
  info.name = virDomainGetName(dom);
  std::array<char, VIR_UUID_STRING_BUFLEN> uuid{};
  if (virDomainGetUUIDString(dom, uuid.data()) < 0) {
    return lastLibvirtError("reading the uuid of domain '" + info.name + "'");
  }
  info.uuid = uuid.data();
  auto state = readState(dom);
  if (!state) {
    return state.error();
  }
  info.state = state.value();
  const int persistent = virDomainIsPersistent(dom);
  if (persistent < 0) {
    return lastLibvirtError("asking whether domain '" + info.name + "' is persistent");
  }
  info.persistent = persistent == 1;
  auto owner = readOwner(dom);
  if (!owner) {
    return owner.error();
  }
  info.owner = owner.value();
  return info;
}

Expected<SnapshotDefinition, DriverError> describeSnapshot(virDomainSnapshotPtr snapshot) {
  const std::string name = virDomainSnapshotGetName(snapshot);
  LibvirtString xml(virDomainSnapshotGetXMLDesc(snapshot, 0));
  if (!xml) {
    return lastLibvirtError("describing snapshot '" + name + "'");
  }
  return parseSnapshotXml(xml.get());
}

Expected<SnapshotHandle, DriverError> lookupSnapshot(virDomainPtr dom, const std::string& name) {
  const std::string domain = virDomainGetName(dom);
  SnapshotHandle handle(virDomainSnapshotLookupByName(dom, name.c_str(), 0));
  if (!handle) {
    return lastLibvirtError("looking up snapshot '" + name + "' of domain '" + domain + "'");
  }
  return handle;
}

// The domain's snapshots (virDomainListAllSnapshots with `flags`), every handle owned; nullopt
// when libvirt refused (its error is the thread's last error).
std::optional<std::vector<SnapshotHandle>> listOwned(virDomainPtr dom, unsigned flags) {
  virDomainSnapshotPtr* raw = nullptr;
  const int count = virDomainListAllSnapshots(dom, &raw, flags);
  if (count < 0) {
    return std::nullopt;
  }
  std::vector<SnapshotHandle> handles;
  handles.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    handles.emplace_back(raw[i]);
  }
  std::free(raw);
  return handles;
}

unsigned deleteFlags(DeleteOptions options) {
  unsigned flags = options.metadataOnly ? VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY : 0;
  if (options.scope == DeleteScope::Children) {
    flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN;
  } else if (options.scope == DeleteScope::ChildrenOnly) {
    flags |= VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY;
  }
  return flags;
}

std::string volumeXml(const VolumeRequest& request) {
  xml::Document doc = xml::newDocument("volume");
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  xml::addChild(root, "name", request.name);
  xml::setAttribute(xml::addChild(root, "capacity", std::to_string(request.capacityBytes)), "unit", "bytes");
  xml::setAttribute(xml::addChild(xml::addChild(root, "target"), "format"), "type", request.format);
  return xml::serialize(doc.get());
}

}  // namespace

LibvirtDriver::LibvirtDriver(LibvirtDriverOptions options, ClockPtr clock)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      roots_(options_.storageRoots),
      connection_(options_.uri),
      serializer_(clock_, options_.revertSpacing) {
  silenceLibvirtErrorPrinting();
}

template <typename T, typename Call>
LibvirtDriver::Result<T> LibvirtDriver::run(Access access, Call&& call) {
  for (int attempt = 0;; ++attempt) {
    auto connection = connection_.get();
    if (!connection) {
      return connection.error();
    }
    Result<T> result = call(connection.value().get());
    if (result.has_value()) {
      return result;
    }
    const bool dropped = connection_.noteFailure(connection.value(), result.error());
    if (!dropped || access == Access::Write || attempt > 0) {
      return result;
    }
  }
}

template <typename T, typename Call>
LibvirtDriver::Result<T> LibvirtDriver::onDomain(const std::string& name, Access access, Call&& call) {
  return run<T>(access, [&](virConnectPtr conn) -> Result<T> {
    DomainHandle dom(virDomainLookupByName(conn, name.c_str()));
    if (!dom) {
      return lastLibvirtError("looking up domain '" + name + "'");
    }
    return call(dom.get());
  });
}

std::optional<DriverError> LibvirtDriver::simple(const std::string& name, const char* what,
                                                 int (*call)(virDomainPtr)) {
  auto turn = serializer_.acquire(name);
  auto result = onDomain<Done>(name, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    if (call(dom) < 0) {
      return lastLibvirtError(std::string(what) + " domain '" + name + "'");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

// --- Host ------------------------------------------------------------------------------------------

Expected<Capabilities, DriverError> LibvirtDriver::capabilities() {
  return run<Capabilities>(Access::Read, [&](virConnectPtr conn) -> Result<Capabilities> {
    Capabilities caps;
    caps.uri = options_.uri;
    const char* type = virConnectGetType(conn);
    if (type == nullptr) {
      return lastLibvirtError("reading the hypervisor type");
    }
    caps.hypervisorType = type;
    unsigned long library = 0;
    if (virConnectGetLibVersion(conn, &library) < 0) {
      return lastLibvirtError("reading libvirt's version");
    }
    caps.libraryVersion = library;
    unsigned long hypervisor = 0;
    if (virConnectGetVersion(conn, &hypervisor) == 0) {
      caps.hypervisorVersion = hypervisor;
    }
    LibvirtString xml(virConnectGetCapabilities(conn));
    if (!xml) {
      return lastLibvirtError("reading the host capabilities");
    }
    xml::Document doc = xml::parse(xml.get());
    if (!doc) {
      return DriverError{DriverErrorKind::Internal, 0, "the host capabilities are not well-formed XML", {}};
    }
    caps.externalSnapshots =
        xml::findDescendant(xmlDocGetRootElement(doc.get()), "externalSnapshot") != nullptr;
    caps.externalRevert = caps.externalSnapshots && caps.libraryVersion >= kExternalRevertVersion;
    // The test driver refuses DISK_ONLY and METADATA_ONLY ("unsupported flags").
    const bool testDriver = caps.hypervisorType == "TEST" || caps.hypervisorType == "Test";
    caps.diskOnlySnapshots = !testDriver;
    caps.metadataOnlyDelete = !testDriver;
    return caps;
  });
}

Expected<GuestOffers, DriverError> LibvirtDriver::guestOffers() {
  for (int attempt = 0;; ++attempt) {
    auto connection = connection_.get();
    if (!connection) {
      return connection.error();
    }
    const LibvirtConnection::Handle& handle = connection.value();
    const auto sameConnection = [&] {
      // By owner, not address: a connection opened later may reuse a closed one's address.
      return !guestOffersConnection_.owner_before(handle) && !handle.owner_before(guestOffersConnection_);
    };
    {
      std::lock_guard lock(guestOffersMutex_);
      if (guestOffers_ && sameConnection()) {
        return *guestOffers_;
      }
    }
    guestOfferReads_.fetch_add(1);
    Result<GuestOffers> read = [&]() -> Result<GuestOffers> {
      LibvirtString xml(virConnectGetCapabilities(handle.get()));
      if (!xml) {
        return lastLibvirtError("reading the host capabilities");
      }
      return parseGuestOffers(xml.get(), kRenderedOsType);
    }();
    if (read.has_value()) {
      std::lock_guard lock(guestOffersMutex_);
      guestOffersConnection_ = handle;
      guestOffers_ = read.value();
      return read;
    }
    // A read: retried once on a new connection when libvirtd went away.
    if (!connection_.noteFailure(handle, read.error()) || attempt > 0) {
      return read;
    }
  }
}

// --- Domains ---------------------------------------------------------------------------------------

Expected<DomainInfo, DriverError> LibvirtDriver::lookupDomain(const std::string& name) {
  return onDomain<DomainInfo>(name, Access::Read, describeDomain);
}

Expected<DomainInfo, DriverError> LibvirtDriver::lookupDomainByUuid(const std::string& uuid) {
  return run<DomainInfo>(Access::Read, [&](virConnectPtr conn) -> Result<DomainInfo> {
    DomainHandle dom(virDomainLookupByUUIDString(conn, uuid.c_str()));
    if (!dom) {
      return lastLibvirtError("looking up the domain with uuid '" + uuid + "'");
    }
    return describeDomain(dom.get());
  });
}

Expected<DomainSpec, DriverError> LibvirtDriver::definition(const std::string& name) {
  return onDomain<DomainSpec>(name, Access::Read, [&](virDomainPtr dom) -> Result<DomainSpec> {
    LibvirtString xml(virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
    if (!xml) {
      return lastLibvirtError("reading the definition of domain '" + name + "'");
    }
    auto spec = parseDomainXml(xml.get());
    if (!spec) {
      return spec.error();
    }
    return std::move(spec).value();
  });
}

Expected<DomainInfo, DriverError> LibvirtDriver::defineDomain(const DomainSpec& spec) {
  DomainSpec confined = spec;
  for (DiskSpec& disk : confined.disks) {
    auto path = roots_.confine(disk.path);
    if (!path) {
      return path.error();
    }
    disk.path = path.value().string();
  }
  auto xml = renderDomainXml(confined);
  if (!xml) {
    return xml.error();
  }
  auto turn = serializer_.acquire(spec.name);
  return run<DomainInfo>(Access::Write, [&](virConnectPtr conn) -> Result<DomainInfo> {
    // A redefinition replaces the persistent <metadata>; a revert mark in it is kept, or a revert
    // waiting for a retry would read as made (see setRevertMark).
    std::optional<std::string> mark;
    if (DomainHandle existing(virDomainLookupByName(conn, spec.name.c_str())); existing) {
      auto held = readRevertMark(existing.get(), VIR_DOMAIN_AFFECT_CONFIG);
      if (!held) {
        return held.error();
      }
      mark = held.value();
    }
    DomainHandle dom(virDomainDefineXMLFlags(conn, xml.value().c_str(), VIR_DOMAIN_DEFINE_VALIDATE));
    if (!dom) {
      return lastLibvirtError("defining domain '" + spec.name + "'");
    }
    if (mark) {
      if (auto failed = writeRevertMark(dom.get(), mark, VIR_DOMAIN_AFFECT_CONFIG)) {
        return *failed;
      }
    }
    return describeDomain(dom.get());
  });
}

std::optional<DriverError> LibvirtDriver::start(const std::string& name) {
  return simple(name, "starting", virDomainCreate);
}

std::optional<DriverError> LibvirtDriver::destroy(const std::string& name) {
  return simple(name, "destroying", virDomainDestroy);
}

std::optional<DriverError> LibvirtDriver::suspend(const std::string& name) {
  return simple(name, "suspending", virDomainSuspend);
}

std::optional<DriverError> LibvirtDriver::resume(const std::string& name) {
  return simple(name, "resuming", virDomainResume);
}

std::optional<DriverError> LibvirtDriver::shutdown(const std::string& name,
                                                   std::chrono::milliseconds timeout) {
  auto turn = serializer_.acquire(name);
  auto result = onDomain<Done>(name, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    if (virDomainShutdown(dom) < 0) {
      return lastLibvirtError("shutting down domain '" + name + "'");
    }
    const auto deadline = clock_->now() + timeout;
    for (;;) {
      auto state = readState(dom);
      if (!state) {
        return state.error();
      }
      if (state.value() == DomainState::Shutoff) {
        return Done{};
      }
      if (clock_->now() >= deadline) {
        break;
      }
      clock_->sleepUntil(std::min(deadline, clock_->now() + options_.shutdownPoll));
    }
    // The guest did not stop in time (a domain sitting in its BIOS never will): pull the plug.
    if (virDomainDestroy(dom) < 0) {
      return lastLibvirtError("destroying domain '" + name + "' after its shutdown timed out");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

std::optional<DriverError> LibvirtDriver::undefine(const std::string& name, UndefineOptions options) {
  auto turn = serializer_.acquire(name);
  auto result = onDomain<Done>(name, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
    if (options.snapshotsMetadata) {
      flags |= VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    }
    if (options.nvram) {
      flags |= VIR_DOMAIN_UNDEFINE_NVRAM;
    }
    if (virDomainUndefineFlags(dom, flags) == 0) {
      return Done{};
    }
    auto error = lastLibvirtError("undefining domain '" + name + "'");
    if (error.kind != DriverErrorKind::Unsupported) {
      return error;
    }
    // Drivers without NVRAM or checkpoints (the test driver) refuse those flags; nothing of theirs
    // is left behind without them.
    flags &= ~static_cast<unsigned>(VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA);
    if (virDomainUndefineFlags(dom, flags) < 0) {
      return lastLibvirtError("undefining domain '" + name + "'");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

Expected<DomainState, DriverError> LibvirtDriver::state(const std::string& name) {
  return onDomain<DomainState>(name, Access::Read, readState);
}

std::optional<DriverError> LibvirtDriver::setOwner(const std::string& name,
                                                   const std::optional<Ownership>& owner) {
  std::string element;
  if (owner) {
    auto rendered = renderOwnerElement(*owner);
    if (!rendered) {
      return rendered.error();
    }
    element = rendered.value();
  }
  auto turn = serializer_.acquire(name);
  auto result = onDomain<Done>(name, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    // The persistent definition always; the running one too, so `virsh dumpxml` shows it.
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
    if (virDomainIsActive(dom) == 1) {
      flags |= VIR_DOMAIN_AFFECT_LIVE;
    }
    const std::string uri(kOwnerNamespaceUri);
    const std::string prefix(kOwnerPrefix);
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, owner ? element.c_str() : nullptr,
                             owner ? prefix.c_str() : nullptr, uri.c_str(), flags) < 0) {
      return lastLibvirtError("writing the owner of domain '" + name + "'");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

std::optional<DriverError> LibvirtDriver::setRevertMark(const std::string& name,
                                                        const std::optional<std::string>& revertUid) {
  auto turn = serializer_.acquire(name);
  auto result = onDomain<Done>(name, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    // Both definitions, in one call: revertMark trusts the mark only where both have it.
    unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
    if (virDomainIsActive(dom) == 1) {
      flags |= VIR_DOMAIN_AFFECT_LIVE;
    }
    if (auto failed = writeRevertMark(dom, revertUid, flags)) {
      return *failed;
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

Expected<std::optional<std::string>, DriverError> LibvirtDriver::revertMark(const std::string& name) {
  using Mark = std::optional<std::string>;
  return onDomain<Mark>(name, Access::Read, [&](virDomainPtr dom) -> Result<Mark> {
    auto persistent = readRevertMark(dom, VIR_DOMAIN_AFFECT_CONFIG);
    if (!persistent || !persistent.value() || virDomainIsActive(dom) != 1) {
      return persistent;
    }
    auto live = readRevertMark(dom, VIR_DOMAIN_AFFECT_LIVE);
    if (!live) {
      return live;
    }
    return live.value() == persistent.value() ? persistent : Mark{};
  });
}

// --- Storage ---------------------------------------------------------------------------------------

Expected<std::string, DriverError> LibvirtDriver::createVolume(const VolumeRequest& request) {
  if (request.name.empty() || request.name.find('/') != std::string::npos || request.name == "." ||
      request.name == "..") {
    return DriverError{
        DriverErrorKind::Invalid, 0, "volume name '" + request.name + "' is not a plain file name", {}};
  }
  if (request.format != "qcow2" && request.format != "raw") {
    return DriverError{
        DriverErrorKind::Invalid, 0, "volume format '" + request.format + "' is not qcow2 or raw", {}};
  }
  if (request.capacityBytes == 0) {
    return DriverError{DriverErrorKind::Invalid, 0, "volume '" + request.name + "' needs a size", {}};
  }
  const std::string xml = volumeXml(request);
  return run<std::string>(Access::Write, [&](virConnectPtr conn) -> Result<std::string> {
    PoolHandle pool(virStoragePoolLookupByName(conn, request.pool.c_str()));
    if (!pool) {
      return lastLibvirtError("looking up storage pool '" + request.pool + "'");
    }
    VolumeHandle volume(virStorageVolCreateXML(pool.get(), xml.c_str(), 0));
    if (!volume) {
      return lastLibvirtError("creating volume '" + request.name + "' in pool '" + request.pool + "'");
    }
    LibvirtString path(virStorageVolGetPath(volume.get()));
    if (!path) {
      return lastLibvirtError("reading the path of volume '" + request.name + "'");
    }
    return std::string(path.get());
  });
}

Expected<std::optional<std::string>, DriverError> LibvirtDriver::findVolume(const std::string& pool,
                                                                            const std::string& name) {
  using Found = std::optional<std::string>;
  return run<Found>(Access::Read, [&](virConnectPtr conn) -> Result<Found> {
    PoolHandle handle(virStoragePoolLookupByName(conn, pool.c_str()));
    if (!handle) {
      return lastLibvirtError("looking up storage pool '" + pool + "'");
    }
    VolumeHandle volume(virStorageVolLookupByName(handle.get(), name.c_str()));
    if (!volume) {
      DriverError error = lastLibvirtError("looking up volume '" + name + "' in pool '" + pool + "'");
      if (error.kind == DriverErrorKind::NotFound) {
        return Found();
      }
      return error;
    }
    LibvirtString path(virStorageVolGetPath(volume.get()));
    if (!path) {
      return lastLibvirtError("reading the path of volume '" + name + "'");
    }
    return Found(std::string(path.get()));
  });
}

std::optional<DriverError> LibvirtDriver::deleteVolume(const std::string& path) {
  auto result = run<Done>(Access::Write, [&](virConnectPtr conn) -> Result<Done> {
    VolumeHandle volume(virStorageVolLookupByPath(conn, path.c_str()));
    if (!volume) {
      return lastLibvirtError("looking up volume '" + path + "'");
    }
    if (virStorageVolDelete(volume.get(), 0) < 0) {
      return lastLibvirtError("deleting volume '" + path + "'");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

// --- Snapshots -------------------------------------------------------------------------------------

Expected<SnapshotListing, DriverError> LibvirtDriver::listSnapshots(const std::string& domain) {
  return onDomain<SnapshotListing>(domain, Access::Read, [&](virDomainPtr dom) -> Result<SnapshotListing> {
    virDomainSnapshotPtr* raw = nullptr;
    const int count = virDomainListAllSnapshots(dom, &raw, 0);
    if (count < 0) {
      return lastLibvirtError("listing the snapshots of domain '" + domain + "'");
    }
    // Own every handle at once, so that any early return frees them all.
    std::vector<SnapshotHandle> handles;
    handles.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      handles.emplace_back(raw[i]);
    }
    std::free(raw);

    SnapshotListing listing;
    listing.snapshots.reserve(handles.size());
    for (const SnapshotHandle& handle : handles) {
      auto def = describeSnapshot(handle.get());
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
  });
}

Expected<SnapshotShape, DriverError> LibvirtDriver::listSnapshotShape(const std::string& domain) {
  return onDomain<SnapshotShape>(domain, Access::Read, [&](virDomainPtr dom) -> Result<SnapshotShape> {
    auto all = listOwned(dom, 0);
    if (!all) {
      return lastLibvirtError("listing the snapshots of domain '" + domain + "'");
    }
    auto roots = listOwned(dom, VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
    if (!roots) {
      return lastLibvirtError("listing the root snapshots of domain '" + domain + "'");
    }
    std::set<std::string, std::less<>> rootNames;
    for (const SnapshotHandle& root : roots.value()) {
      rootNames.emplace(virDomainSnapshotGetName(root.get()));
    }
    SnapshotShape shape;
    shape.snapshots.reserve(all.value().size());
    for (const SnapshotHandle& handle : all.value()) {
      SnapshotLink link{virDomainSnapshotGetName(handle.get()), std::nullopt};
      if (!rootNames.contains(link.name)) {
        SnapshotHandle parent(virDomainSnapshotGetParent(handle.get(), 0));
        if (!parent) {
          return lastLibvirtError("reading the parent of snapshot '" + link.name + "'");
        }
        link.parent = virDomainSnapshotGetName(parent.get());
      }
      shape.snapshots.push_back(std::move(link));
    }
    if (!shape.snapshots.empty()) {
      SnapshotHandle current(virDomainSnapshotCurrent(dom, 0));
      if (current) {
        shape.current = virDomainSnapshotGetName(current.get());
      } else if (virErrorPtr last = virGetLastError();
                 last == nullptr || last->code != VIR_ERR_NO_DOMAIN_SNAPSHOT) {
        return lastLibvirtError("reading the current snapshot of domain '" + domain + "'");
      }
    }
    return shape;
  });
}

Expected<std::optional<std::string>, DriverError> LibvirtDriver::currentSnapshot(const std::string& domain) {
  using Current = std::optional<std::string>;
  return onDomain<Current>(domain, Access::Read, [&](virDomainPtr dom) -> Result<Current> {
    SnapshotHandle current(virDomainSnapshotCurrent(dom, 0));
    if (current) {
      return Current(virDomainSnapshotGetName(current.get()));
    }
    if (virErrorPtr last = virGetLastError(); last != nullptr && last->code == VIR_ERR_NO_DOMAIN_SNAPSHOT) {
      return Current();
    }
    return lastLibvirtError("reading the current snapshot of domain '" + domain + "'");
  });
}

Expected<std::vector<SnapshotDefinition>, DriverError> LibvirtDriver::describeSnapshots(
    const std::string& domain, const std::vector<std::string>& names) {
  if (names.empty()) {
    return std::vector<SnapshotDefinition>{};
  }
  return onDomain<std::vector<SnapshotDefinition>>(
      domain, Access::Read, [&](virDomainPtr dom) -> Result<std::vector<SnapshotDefinition>> {
        std::vector<SnapshotDefinition> definitions;
        definitions.reserve(names.size());
        for (const std::string& name : names) {
          auto handle = lookupSnapshot(dom, name);
          if (!handle) {
            return handle.error();
          }
          auto def = describeSnapshot(handle.value().get());
          if (!def) {
            return def.error();
          }
          definitions.push_back(std::move(def).value());
        }
        return definitions;
      });
}

Expected<SnapshotDefinition, DriverError> LibvirtDriver::createSnapshot(const std::string& domain,
                                                                        const SnapshotRequest& request) {
  SnapshotRequest confined = request;
  for (SnapshotDisk& disk : confined.disks) {
    if (!disk.file.empty()) {
      auto path = roots_.confine(disk.file);
      if (!path) {
        return path.error();
      }
      disk.file = path.value().string();
    }
  }
  if (!confined.memoryFile.empty()) {
    auto path = roots_.confine(confined.memoryFile);
    if (!path) {
      return path.error();
    }
    confined.memoryFile = path.value().string();
  }
  auto xml = renderSnapshotXml(confined);
  if (!xml) {
    return xml.error();
  }
  unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
  if (request.location == SnapshotLocation::External && !request.memory) {
    flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    if (request.quiesce) {
      flags |= VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
    }
  }
  auto turn = serializer_.acquire(domain);
  return onDomain<SnapshotDefinition>(
      domain, Access::Write, [&](virDomainPtr dom) -> Result<SnapshotDefinition> {
        SnapshotHandle made(virDomainSnapshotCreateXML(dom, xml.value().c_str(), flags));
        if (!made) {
          return lastLibvirtError("creating snapshot '" + request.name + "' of domain '" + domain + "'");
        }
        return describeSnapshot(made.get());
      });
}

std::optional<DriverError> LibvirtDriver::revertToSnapshot(const std::string& domain,
                                                           const std::string& snapshot,
                                                           RevertOptions options) {
  unsigned flags = options.force ? VIR_DOMAIN_SNAPSHOT_REVERT_FORCE : 0;
  if (options.mode == RevertMode::Running) {
    flags |= VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING;
  } else if (options.mode == RevertMode::Paused) {
    flags |= VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
  }
  auto turn = serializer_.acquire(domain);
  serializer_.spaceRevert(turn);
  auto result = onDomain<Done>(domain, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    auto snap = lookupSnapshot(dom, snapshot);
    if (!snap) {
      return snap.error();
    }
    if (virDomainRevertToSnapshot(snap.value().get(), flags) < 0) {
      return lastLibvirtError("reverting domain '" + domain + "' to snapshot '" + snapshot + "'");
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

std::optional<DriverError> LibvirtDriver::deleteSnapshot(const std::string& domain,
                                                         const std::string& snapshot, DeleteOptions options) {
  auto turn = serializer_.acquire(domain);
  auto result = onDomain<Done>(domain, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    auto snap = lookupSnapshot(dom, snapshot);
    if (!snap) {
      return snap.error();
    }
    if (virDomainSnapshotDelete(snap.value().get(), deleteFlags(options)) < 0) {
      auto error = lastLibvirtError("deleting snapshot '" + snapshot + "' of domain '" + domain + "'");
      if (error.block) {
        error.block->snapshot = snapshot;
      }
      return error;
    }
    return Done{};
  });
  return result ? std::nullopt : std::optional(result.error());
}

Expected<std::string, DriverError> LibvirtDriver::snapshotXml(const std::string& domain,
                                                              const std::string& snapshot) {
  return onDomain<std::string>(domain, Access::Read, [&](virDomainPtr dom) -> Result<std::string> {
    auto snap = lookupSnapshot(dom, snapshot);
    if (!snap) {
      return snap.error();
    }
    LibvirtString xml(virDomainSnapshotGetXMLDesc(snap.value().get(), 0));
    if (!xml) {
      return lastLibvirtError("describing snapshot '" + snapshot + "'");
    }
    return std::string(xml.get());
  });
}

std::optional<DriverError> LibvirtDriver::redefineSnapshots(const std::string& domain,
                                                            const std::vector<SnapshotDefinition>& snapshots,
                                                            const std::optional<std::string>& current) {
  auto caps = capabilities();
  if (!caps) {
    return caps.error();
  }
  const bool metadataOnly = caps.value().metadataOnlyDelete;
  auto turn = serializer_.acquire(domain);
  auto result = onDomain<Done>(domain, Access::Write, [&](virDomainPtr dom) -> Result<Done> {
    // The model orders the definitions (parents first) and refuses names libvirt already has, so a
    // rollback can only ever remove what this call added.
    std::vector<SnapshotRecord> existing;
    virDomainSnapshotPtr* raw = nullptr;
    const int count = virDomainListAllSnapshots(dom, &raw, 0);
    if (count < 0) {
      return lastLibvirtError("listing the snapshots of domain '" + domain + "'");
    }
    for (int i = 0; i < count; ++i) {
      SnapshotHandle owned(raw[i]);
      existing.push_back(
          SnapshotRecord{virDomainSnapshotGetName(owned.get()), std::nullopt, SnapshotLocation::Internal});
    }
    std::free(raw);
    SnapshotTree scratch;
    scratch.rebuild(existing, std::nullopt);

    std::vector<SnapshotRecord> records;
    std::unordered_map<std::string, const SnapshotDefinition*> byName;
    for (const SnapshotDefinition& def : snapshots) {
      records.push_back(def.record());
      byName[def.name] = &def;
    }
    std::optional<DriverError> stepError;
    auto failure = scratch.redefineAll(records, current, [&](const SnapshotRecord& record, bool makeCurrent) {
      unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
      if (makeCurrent) {
        flags |= VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
      }
      SnapshotHandle made(virDomainSnapshotCreateXML(dom, byName.at(record.name)->xml.c_str(), flags));
      if (!made) {
        stepError = lastLibvirtError("redefining snapshot '" + record.name + "' of domain '" + domain + "'");
        return std::optional<std::string>(stepError->message);
      }
      return std::optional<std::string>{};
    });
    if (!failure) {
      return Done{};
    }
    // All-or-nothing: forget, children first, what this attempt redefined. Without METADATA_ONLY
    // (the test driver) a plain delete is the same thing: that driver keeps no snapshot data.
    const DeleteOptions forget{DeleteScope::Snapshot, metadataOnly};
    for (const std::string& name : failure->rolledBack) {
      if (auto snap = lookupSnapshot(dom, name)) {
        virDomainSnapshotDelete(snap.value().get(), deleteFlags(forget));
      }
    }
    DriverError error =
        stepError.value_or(DriverError{DriverErrorKind::Invalid, 0, failure->error.message, {}});
    error.message =
        "bulk redefine of domain '" + domain + "' failed at snapshot '" + failure->error.snapshot +
        "' and was rolled back (" + std::to_string(failure->rolledBack.size()) +
        " snapshot(s) removed again): " + (stepError ? stepError->message : failure->error.message);
    return error;
  });
  return result ? std::nullopt : std::optional(result.error());
}

}  // namespace virtsnap::drivers::libvirt
