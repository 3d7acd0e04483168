#pragma once
// libvirt's errors as DriverError values. libvirt keeps the last error per thread; it is read right
// after the failing call. Its default printing to stderr is switched off once per process.

#include <string_view>

#include "drivers/driver_error.h"

namespace virtsnap::drivers::libvirt {

// Stops libvirt from printing its error reports to stderr and sends each one, as libvirt words it, to
// the process's logger (base/logger.h) as component "libvirt" at debug level: every error also comes
// back to the caller as a DriverError, and the caller decides how loud it is. Idempotent.
void silenceLibvirtErrorPrinting();

// The calling thread's last libvirt error, classified; `context` says what was being done.
DriverError lastLibvirtError(std::string_view context);

// Classifies a libvirt error code and message (split out so the mapping is tested without libvirt).
DriverError classifyLibvirtError(int code, std::string_view message, std::string_view context);

}  // namespace virtsnap::drivers::libvirt
