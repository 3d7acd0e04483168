#pragma once
// Changes made to a domain's definition behind virtsnap's back (`virsh edit`, another tool): what
// differs between the definition a Domain asks for and the one libvirt holds, so that the Domain
// reconciler puts the spec back and says what it found.

#include <set>
#include <string>
#include <vector>

#include "drivers/domain_spec.h"
#include "reconcilers/hypervisor_views.h"

namespace virtsnap::reconcilers {

// Each difference in words ("memory: 128 MiB in the spec, 64 MiB defined"), in field order; empty
// when the definitions agree. Not compared: the uuid and the owner (the reconciler checks ownership
// itself), and the machine type, which libvirt fills in when none is asked for and expands from an
// alias (pc -> pc-i440fx-10.0). A disk in `overlaid` runs on an external snapshot's overlay: its path
// and format are libvirt's to change and are not compared.
std::vector<std::string> definitionDrift(const drivers::DomainSpec& desired, const drivers::DomainSpec& live,
                                         const std::set<std::string>& overlaid);

// The spec to define over an existing domain: `desired`, with every overlaid disk keeping the
// overlay and format it has now (defining the base image again would cut the snapshot chain off).
drivers::DomainSpec keepOverlays(drivers::DomainSpec desired, const drivers::DomainSpec& live,
                                 const std::set<std::string>& overlaid);

// The disks (target names) that an external snapshot in the view moved onto an overlay.
std::set<std::string> overlaidDisks(const DomainView& view);

}  // namespace virtsnap::reconcilers
