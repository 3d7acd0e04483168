#include "drivers/hypervisor_driver.h"

namespace virtsnap::drivers {

std::string_view toString(DomainState state) {
  switch (state) {
    case DomainState::Running:
      return "Running";
    case DomainState::Blocked:
      return "Blocked";
    case DomainState::Paused:
      return "Paused";
    case DomainState::ShuttingDown:
      return "ShuttingDown";
    case DomainState::Shutoff:
      return "Shutoff";
    case DomainState::Crashed:
      return "Crashed";
    case DomainState::PMSuspended:
      return "PMSuspended";
    case DomainState::NoState:
      break;
  }
  return "NoState";
}

}  // namespace virtsnap::drivers
