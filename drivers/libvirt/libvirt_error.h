#pragma once
// libvirt's errors as DriverError values. libvirt keeps the last error per thread; it is read right
// after the failing call. Its default printing to stderr is switched off once per process.

#include <functional>
#include <string_view>

#include "drivers/driver_error.h"

namespace virtsnap::drivers::libvirt {

// Where libvirt's own error reports go instead of stderr: each one, as libvirt words it. The agent
// points this at its logger; unset, they are dropped (every error also comes back as a value).
using LibvirtLogSink = std::function<void(std::string_view message)>;
void setLibvirtLogSink(LibvirtLogSink sink);

// Stops libvirt from printing errors to stderr and routes them to the log sink. Idempotent.
void silenceLibvirtErrorPrinting();

// The calling thread's last libvirt error, classified; `context` says what was being done.
DriverError lastLibvirtError(std::string_view context);

// Classifies a libvirt error code and message (split out so the mapping is tested without libvirt).
DriverError classifyLibvirtError(int code, std::string_view message, std::string_view context);

}  // namespace virtsnap::drivers::libvirt
