#include "drivers/libvirt/libvirt_error.h"

#include <array>
#include <mutex>
#include <string>
#include <utility>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base/logger.h"

namespace virtsnap::drivers::libvirt {

namespace {

// Called by libvirt on the thread that hit the error, before the call returns.
void routeError(void* /*userData*/, virErrorPtr error) {
  if (error == nullptr || error->message == nullptr) {
    return;
  }
  logLine(LogLevel::Debug, "libvirt", error->message);
}

// libvirt's refusals of snapshot deletion (qemu_snapshot.c, and QEMU's own block-commit refusal),
// mapped to the tree model's reasons so that a prediction and a refusal read the same.
constexpr std::array<std::pair<std::string_view, DeletionBlockReason>, 8> kDeletionRefusals{{
    {"children disk snapshots not supported", DeletionBlockReason::ExternalDescendants},
    {"external disk snapshots with children", DeletionBlockReason::ExternalDescendants},
    {"active external snapshot that is not a leaf", DeletionBlockReason::ActiveExternalNotLeaf},
    {"not in active chain", DeletionBlockReason::ExternalNotInActiveChain},
    {"with multiple children", DeletionBlockReason::ExternalWithMultipleChildren},
    {"internal snapshot as parent", DeletionBlockReason::ExternalWithInternalParent},
    {"is not the same as disk image currently used by VM", DeletionBlockReason::InternalNotInCurrentImage},
    // A memory snapshot taken while paused leaves QEMU's block nodes inactive until the domain runs
    // (tests/e2e/README.md): "Inactive 'libvirt-7-format' can't be a backing child of active '#block1404'".
    {"can't be a backing child of active", DeletionBlockReason::PausedAfterMemorySnapshot},
}};

// What unblocks the refusals that only libvirt knows about (the tree model predicts the others and
// says so itself); appended to libvirt's message.
std::string_view unblockHint(DeletionBlockReason reason) {
  switch (reason) {
    case DeletionBlockReason::InternalNotInCurrentImage:
      return " The running domain has moved to another disk image (an external snapshot was taken after "
             "this internal one). Revert to this snapshot, or stop the domain, to delete it.";
    case DeletionBlockReason::PausedAfterMemorySnapshot:
      return " The domain has been paused since a memory snapshot was taken, and QEMU keeps its disks "
             "inactive until it runs, so nothing can be merged. Resume the domain (spec.runState: Running); "
             "the deletion is retried then.";
    default:
      return "";
  }
}

}  // namespace

void silenceLibvirtErrorPrinting() {
  static std::once_flag once;
  std::call_once(once, [] { virSetErrorFunc(nullptr, routeError); });
}

DriverError classifyLibvirtError(int code, std::string_view message, std::string_view context) {
  DriverError error;
  error.code = code;
  error.message = std::string(context) + ": " + std::string(message);
  for (const auto& [text, reason] : kDeletionRefusals) {
    if (message.find(text) != std::string_view::npos) {
      error.kind = DriverErrorKind::Refused;
      // QEMU's text names block nodes that differ on every attempt ('#block1404'); the block's message
      // must not, or each retry would rewrite the condition and trigger the next one.
      const std::string said = reason == DeletionBlockReason::PausedAfterMemorySnapshot
                                   ? std::string(context) + ": QEMU refused the block-commit (inactive disks)"
                                   : error.message;
      error.block = DeletionBlock{reason, "", said + std::string(unblockHint(reason))};
      return error;
    }
  }
  switch (code) {
    case VIR_ERR_NO_DOMAIN:
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
    case VIR_ERR_NO_STORAGE_POOL:
    case VIR_ERR_NO_STORAGE_VOL:
    case VIR_ERR_NO_NETWORK:
      error.kind = DriverErrorKind::NotFound;
      break;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_OPERATION_UNSUPPORTED:
    case VIR_ERR_CONFIG_UNSUPPORTED:
      error.kind = DriverErrorKind::Unsupported;
      break;
    case VIR_ERR_INVALID_ARG:
      // The test driver answers flags it does not implement with "unsupported flags (0x..)".
      error.kind = message.find("unsupported flags") != std::string_view::npos ? DriverErrorKind::Unsupported
                                                                               : DriverErrorKind::Invalid;
      break;
    case VIR_ERR_OPERATION_INVALID:
    case VIR_ERR_SNAPSHOT_REVERT_RISKY:
      error.kind = DriverErrorKind::Refused;
      break;
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_INVALID_DOMAIN_SNAPSHOT:
      error.kind = DriverErrorKind::Invalid;
      break;
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_RPC:
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
    case VIR_ERR_AUTH_UNAVAILABLE:
      error.kind = DriverErrorKind::Transient;
      break;
    default:
      error.kind = DriverErrorKind::Internal;
      break;
  }
  return error;
}

DriverError lastLibvirtError(std::string_view context) {
  virErrorPtr last = virGetLastError();
  if (last == nullptr) {
    return DriverError{
        DriverErrorKind::Internal, 0, std::string(context) + ": libvirt reported no error", {}};
  }
  return classifyLibvirtError(last->code, last->message ? last->message : "", context);
}

}  // namespace virtsnap::drivers::libvirt
