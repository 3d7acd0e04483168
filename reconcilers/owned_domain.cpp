#include "reconcilers/owned_domain.h"

#include "controller/kube/typed_client.h"

namespace virtsnap::reconcilers {

OwnedDomain ownedDomain(const AgentContext& context, const std::string& ns, const std::string& domainName,
                        bool askApi) {
  kube::ObjectPtr cached = context.domains->get(kube::objectKey(ns, domainName));
  if (cached) {
    auto domain = crds::decodeDomain(*cached);
    if (!domain || domain->spec.nodeName != context.settings.nodeName) {
      return {DomainLookup::Foreign, std::nullopt};
    }
    return {DomainLookup::Owned, std::move(domain).value()};
  }
  if (!askApi) {
    return {DomainLookup::Foreign, std::nullopt};
  }
  kube::TypedClient<crds::Domain> client(context.client);
  auto answer = client.get(ns, domainName);
  if (answer) {
    // Known to the API but not (yet) to this agent's cache: another node's, or a cache behind.
    return {
        answer->spec.nodeName == context.settings.nodeName ? DomainLookup::Unknown : DomainLookup::Foreign,
        std::nullopt};
  }
  return {answer.error().kind == kube::ErrorKind::NotFound ? DomainLookup::Gone : DomainLookup::Unknown,
          std::nullopt};
}

}  // namespace virtsnap::reconcilers
