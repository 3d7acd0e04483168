#pragma once
// Why the tree model refused an operation. A refused operation changes nothing.

#include <optional>
#include <string>

#include "drivers/deletion_block.h"

namespace virtsnap::drivers {

enum class TreeErrorCode {
  InvalidName,    // empty name
  AlreadyExists,  // create or redefine of a name that is already in the tree
  NotFound,       // the named snapshot (or a redefined snapshot's parent) is not in the tree
  Cycle,          // a redefinition would make a snapshot its own ancestor
  Blocked,        // a deletion libvirt would refuse; see `block`
  StepFailed,     // a step of a bulk redefine failed (the hypervisor refused it)
};

struct TreeError {
  TreeErrorCode code;
  std::string snapshot;  // the snapshot the error is about
  std::string message;   // for people: what happened and, where it helps, what to do
  std::optional<DeletionBlock> block;
};

}  // namespace virtsnap::drivers
