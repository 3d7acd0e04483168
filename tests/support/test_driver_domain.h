#pragma once
// The Domain the agent tests define on libvirt's test driver: its kind ("test"), i686, 64 MiB.

#include <optional>
#include <string>

#include "crds/domain.h"
#include "crds/meta/quantity.h"

namespace virtsnap::testsupport {

inline crds::Domain testDriverDomain(const std::string& ns, const std::string& name,
                                     const std::string& node) {
  crds::Domain domain;
  domain.metadata.name = name;
  domain.metadata.namespaceName = ns;
  domain.spec.nodeName = node;
  domain.spec.type = "test";
  domain.spec.memory = meta::Quantity::parse("64Mi").value();
  domain.spec.os = crds::DomainOs{"i686", std::nullopt, std::nullopt};
  return domain;
}

}  // namespace virtsnap::testsupport
