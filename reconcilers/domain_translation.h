#pragma once
// A Domain resource in the hypervisor layer's terms: its libvirt name, the DomainSpec to define,
// the volumes its `create:` disks need, and the ownership element written into it.

#include <cstdint>
#include <map>
#include <string>
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

// The definition to give libvirt. `volumePaths` maps a `create:` disk's name to its volume's path;
// every `source.path` must lie under one of `roots`. An error names the field and what is wrong, and
// nothing may be defined then.
Expected<drivers::DomainSpec, std::string> translateDomain(
    const crds::Domain& domain, const drivers::StorageRoots& roots,
    const std::map<std::string, std::string>& volumePaths);

}  // namespace virtsnap::reconcilers
