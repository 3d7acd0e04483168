#pragma once
// Owning handles for libvirt objects: each frees its object exactly once.

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
