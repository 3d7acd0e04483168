#pragma once
// One libvirt connection that heals itself: when libvirtd restarts, the next caller gets a freshly
// opened connection. Keepalive probes (remote drivers) notice a dead daemon within seconds; libvirt's
// event loop, which runs them, is started once per process. Thread-safe; libvirt connections may be
// used from several threads at once.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <libvirt/libvirt.h>

#include "base/expected.h"
#include "drivers/driver_error.h"

namespace virtsnap::drivers::libvirt {

class LibvirtConnection {
 public:
  using Handle = std::shared_ptr<virConnect>;

  explicit LibvirtConnection(std::string uri) : uri_(std::move(uri)) {}
  ~LibvirtConnection();
  LibvirtConnection(const LibvirtConnection&) = delete;
  LibvirtConnection& operator=(const LibvirtConnection&) = delete;

  // The live connection, (re)opened when there is none or the last one died.
  Expected<Handle, DriverError> get();
  // Called after a failed call on `handle`: drops it when the link to libvirt is gone, so the next
  // get() reconnects. Returns true when it was dropped (a read may then be retried once).
  bool noteFailure(const Handle& handle, const DriverError& error);
  const std::string& uri() const { return uri_; }
  // How many times a connection was opened (1 without reconnects); for tests and metrics.
  int opens() const { return opens_.load(); }

 private:
  std::string uri_;
  std::mutex mutex_;  // guards handle_ and closed_
  Handle handle_;
  std::shared_ptr<std::atomic<bool>> closed_;  // set by libvirt's close callback
  std::atomic<int> opens_{0};
};

}  // namespace virtsnap::drivers::libvirt
