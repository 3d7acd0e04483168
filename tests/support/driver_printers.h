#pragma once
// GoogleTest printers for the drivers layer's values, so that a failing assertion shows the message.
// They sit in virtsnap::drivers, not virtsnap::testsupport, because GoogleTest finds PrintTo by
// argument-dependent lookup in the namespace of the printed type.

#include <ostream>

#include "drivers/deletion_block.h"
#include "drivers/driver_error.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/tree_error.h"

namespace virtsnap::drivers {

inline void PrintTo(const DriverError& error, std::ostream* os) {
  *os << "DriverError{kind=" << static_cast<int>(error.kind) << ", code=" << error.code << ", \""
      << error.message << "\"}";
}

inline void PrintTo(const TreeError& error, std::ostream* os) {
  *os << "TreeError{code=" << static_cast<int>(error.code) << ", \"" << error.message << "\"}";
}

inline void PrintTo(const GuestOffer& offer, std::ostream* os) {
  *os << offer.arch << ":";
  for (const auto& type : offer.domainTypes) {
    *os << " " << type;
  }
}

inline void PrintTo(DeletionBlockReason reason, std::ostream* os) {
  *os << toString(reason);
}

}  // namespace virtsnap::drivers
