#pragma once
// Node ownership for the objects that name a Domain: a Snapshot or SnapshotRevert belongs to this
// agent exactly when its Domain (same namespace, spec.domainName) is in the agent's Domain cache,
// which holds only this node's Domains, and says this node. Checked before every hypervisor call.

#include <optional>
#include <string>

#include "crds/domain.h"
#include "reconcilers/agent_context.h"

namespace virtsnap::reconcilers {

enum class DomainLookup {
  Owned,    // this node's Domain: `domain` is set
  Foreign,  // another node's Domain, or one that does not decode: never touch
  Gone,     // no such Domain in the API (its objects may release their finalizers)
  Unknown,  // the API could not be asked: retry
};

struct OwnedDomain {
  DomainLookup lookup = DomainLookup::Unknown;
  std::optional<crds::Domain> domain;
};

// Looks in the cache; only when `askApi` and the cache has no such Domain does it ask the API
// whether it exists at all (a deleted object's finalizer must not wait on a Domain that is gone).
OwnedDomain ownedDomain(const AgentContext& context, const std::string& ns, const std::string& domainName,
                        bool askApi);

}  // namespace virtsnap::reconcilers
