#pragma once
// A Domain resource in the hypervisor layer's terms: its libvirt name, the DomainSpec to define,
// the volumes its `create:` disks need, and the ownership element written into it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.h"
#include "crds/domain.h"
#include "drivers/domain_spec.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/storage_roots.h"

namespace virtsnap::reconcilers {

// spec.hypervisorName, else "<namespace>.<name>" (a namespace has no dots, so this never collides).
std::string hypervisorName(const crds::Domain& domain);

// The ownership element: the Domain's namespace, name and uid.
drivers::Ownership ownershipOf(const crds::Domain& domain);

// The volumes the `create:` disks need in `pool`, named "<hypervisorName>-<disk>.<format>".
std::vector<drivers::VolumeRequest> volumesFor(const crds::Domain& domain, const std::string& pool);

// What in `value`, the value of `field`, libvirt's XML cannot carry (a control character: XML 1.0 has
// none but tab, line feed and carriage return, and libvirt refuses even those in names), as a message
// naming the field; nullopt when nothing. `multiline` allows tab, line feed and carriage return.
std::optional<std::string> textProblem(std::string_view field, std::string_view value, bool multiline);

// What in the spec passes the CRD's schema but no definition may carry: control characters in a name or
// path, a hypervisor name libvirt cannot use ("." and "..", over drivers::kMaxDomainNameLength), memory
// over drivers::kMaxMemoryBytes, a network model the renderer does not know. A message naming the field;
// nullopt when nothing. Checked before anything reaches the hypervisor.
std::optional<std::string> hypervisorProblem(const crds::Domain& domain);

// Whether the host offers the spec's guest: spec.os.arch among `offers` (the host's, from
// HypervisorDriver::guestOffers) and spec.type among the domain types offered for that arch, each
// unset one taken as its default, as translateDomain does. A message naming the field and listing what
// the host offers; nullopt when it offers both. Checked before anything reaches the hypervisor.
std::optional<std::string> guestProblem(const crds::DomainSpec& spec, const drivers::GuestOffers& offers);

// The definition to give libvirt. `volumePaths` maps a `create:` disk's name to its volume's path;
// every `source.path` must lie under one of `roots`. An error names the field and what is wrong, and
// nothing may be defined then.
Expected<drivers::DomainSpec, std::string> translateDomain(
    const crds::Domain& domain, const drivers::StorageRoots& roots,
    const std::map<std::string, std::string>& volumePaths);

}  // namespace virtsnap::reconcilers
