#pragma once
// Owning handles for libvirt objects: each frees its object exactly once.

#include <cstdlib>
#include <memory>

#include <libvirt/libvirt.h>

namespace virtsnap::drivers::libvirt {

struct ConnectCloser {
  void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct DomainFreer {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
struct SnapshotFreer {
  void operator()(virDomainSnapshotPtr s) const { virDomainSnapshotFree(s); }
};

using ConnectHandle = std::unique_ptr<virConnect, ConnectCloser>;
using DomainHandle = std::unique_ptr<virDomain, DomainFreer>;
using SnapshotHandle = std::unique_ptr<virDomainSnapshot, SnapshotFreer>;

}  // namespace virtsnap::drivers::libvirt

namespace virtsnap::drivers::libvirt {

struct PoolFreer {
  void operator()(virStoragePoolPtr p) const { virStoragePoolFree(p); }
};
struct VolumeFreer {
  void operator()(virStorageVolPtr v) const { virStorageVolFree(v); }
};
// Strings libvirt returns are malloc'ed and the caller's to free.
struct LibvirtStringFreer {
  void operator()(char* s) const { std::free(s); }
};

using PoolHandle = std::unique_ptr<virStoragePool, PoolFreer>;
using VolumeHandle = std::unique_ptr<virStorageVol, VolumeFreer>;
using LibvirtString = std::unique_ptr<char, LibvirtStringFreer>;

}  // namespace virtsnap::drivers::libvirt
