#pragma once
// An error from the hypervisor, as a value: what kind of failure it is, whether a retry can help,
// and the hypervisor's own code and message.

#include <optional>
#include <string>

#include "drivers/deletion_block.h"

namespace virtsnap::drivers {

enum class DriverErrorKind {
  NotFound,     // no such domain or snapshot
  Unsupported,  // the hypervisor (or its driver) does not do this, e.g. "unsupported flags"
  Refused,      // the hypervisor refuses this operation in this state (see `block` for deletions)
  Invalid,      // the request itself is wrong (bad XML, bad name)
  Transient,    // connection lost, timeout, busy: a retry may help
  Internal,     // anything else
};

struct DriverError {
  DriverErrorKind kind = DriverErrorKind::Internal;
  int code = 0;  // the hypervisor's own error code (libvirt's virErrorNumber), 0 if none
  std::string message;
  std::optional<DeletionBlock> block;  // for a refused deletion: the same reason the tree model gives

  bool retryable() const { return kind == DriverErrorKind::Transient; }
};

}  // namespace virtsnap::drivers
