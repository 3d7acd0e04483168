#include "drivers/libvirt/libvirt_connection.h"

#include <thread>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlschemastypes.h>

#include "drivers/libvirt/libvirt_error.h"

namespace virtsnap::drivers::libvirt {

namespace {

constexpr int kKeepAliveIntervalSeconds = 5;
constexpr unsigned kKeepAliveCount = 3;

// libvirt's default event loop runs keepalive probes and close callbacks; it must be registered
// before the first connection is opened, once per process, and driven by a thread of its own.
void ensureEventLoop() {
  static std::once_flag once;
  std::call_once(once, [] {
    silenceLibvirtErrorPrinting();
    // libvirt validates definitions (VIR_DOMAIN_DEFINE_VALIDATE) with libxml2's RelaxNG, whose
    // datatype tables libxml2 2.9 builds on first use without a lock: two threads defining at once
    // built two and leaked one (LeakSanitizer in the fault table). Built here, before any connection.
    xmlInitParser();
    xmlSchemaInitTypes();
    xmlRelaxNGInitTypes();
    if (virEventRegisterDefaultImpl() < 0) {
      return;  // without it connections still work; only keepalive is lost
    }
    std::thread([] {
      while (virEventRunDefaultImpl() == 0) {
      }
    }).detach();
  });
}

void onClose(virConnectPtr /*conn*/, int /*reason*/, void* opaque) {
  static_cast<std::atomic<bool>*>(opaque)->store(true);
}

}  // namespace

LibvirtConnection::~LibvirtConnection() {
  std::lock_guard lock(mutex_);
  handle_.reset();
}

Expected<LibvirtConnection::Handle, DriverError> LibvirtConnection::get() {
  std::lock_guard lock(mutex_);
  if (handle_ && !closed_->load() && virConnectIsAlive(handle_.get()) == 1) {
    return handle_;
  }
  handle_.reset();
  ensureEventLoop();
  virConnectPtr raw = virConnectOpen(uri_.c_str());
  if (raw == nullptr) {
    auto error = lastLibvirtError("connecting to " + uri_);
    if (error.kind == DriverErrorKind::Internal || error.kind == DriverErrorKind::Transient) {
      error.kind = DriverErrorKind::Transient;  // libvirtd may be (re)starting: worth another try
    }
    return error;
  }
  ++opens_;
  closed_ = std::make_shared<std::atomic<bool>>(false);
  // Connections through libvirtd answer keepalive; the in-process test driver has none (asking would
  // only log "not supported").
  if (uri_.rfind("test:", 0) != 0) {
    virConnectSetKeepAlive(raw, kKeepAliveIntervalSeconds, kKeepAliveCount);
  }
  // The handle's deleter keeps the flag alive until the callback is unregistered; libvirt gets no
  // free function (not every driver calls it).
  const bool registered = virConnectRegisterCloseCallback(raw, onClose, closed_.get(), nullptr) == 0;
  handle_ = Handle(raw, [registered, flag = closed_](virConnectPtr c) {
    static_cast<void>(flag);  // held, not read
    if (registered) {
      virConnectUnregisterCloseCallback(c, onClose);
    }
    virConnectClose(c);
  });
  return handle_;
}

bool LibvirtConnection::noteFailure(const Handle& handle, const DriverError& error) {
  if (!handle) {
    return false;
  }
  const bool gone = virConnectIsAlive(handle.get()) != 1 ||
                    (error.kind == DriverErrorKind::Transient && error.code != VIR_ERR_OPERATION_TIMEOUT);
  if (gone) {
    std::lock_guard lock(mutex_);
    if (handle_ == handle) {
      handle_.reset();
    }
  }
  return gone;
}

}  // namespace virtsnap::drivers::libvirt
