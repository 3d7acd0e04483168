#include "drivers/deletion_block.h"

namespace virtsnap::drivers {

std::string_view toString(DeletionBlockReason reason) {
  switch (reason) {
    case DeletionBlockReason::ExternalWithMultipleChildren:
      return "ExternalWithMultipleChildren";
    case DeletionBlockReason::ExternalNotInActiveChain:
      return "ExternalNotInActiveChain";
    case DeletionBlockReason::ActiveExternalNotLeaf:
      return "ActiveExternalNotLeaf";
    case DeletionBlockReason::ExternalDescendants:
      return "ExternalDescendants";
    case DeletionBlockReason::ExternalWithInternalParent:
      return "ExternalWithInternalParent";
    case DeletionBlockReason::ExternalWithInternalChildren:
      return "ExternalWithInternalChildren";
    case DeletionBlockReason::InternalNotInCurrentImage:
      return "InternalNotInCurrentImage";
    case DeletionBlockReason::PausedAfterMemorySnapshot:
      return "PausedAfterMemorySnapshot";
  }
  return "Unknown";
}

}  // namespace virtsnap::drivers
