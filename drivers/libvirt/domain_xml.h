#pragma once
// libvirt's <domain> XML rendered from a DomainSpec, and virtsnap's ownership element, through
// libxml2 only. Rendering validates every field it writes; disk paths must already be confined
// (StorageRoots) by the caller.

#include <optional>
#include <string>
#include <string_view>

#include "base/expected.h"
#include "drivers/domain_spec.h"
#include "drivers/driver_error.h"

namespace virtsnap::drivers::libvirt {

// virtsnap's XML namespace for the ownership element in a domain's <metadata>.
inline constexpr std::string_view kOwnerNamespaceUri = "https://virtsnap.io/xmlns/owner/v1";
inline constexpr std::string_view kOwnerPrefix = "virtsnap";

Expected<std::string, DriverError> renderDomainXml(const DomainSpec& spec);
// The persistent definition libvirt holds (virDomainGetXMLDesc with VIR_DOMAIN_XML_INACTIVE) read
// back into a DomainSpec: every field renderDomainXml writes, so that the two compare. The owner is
// left out (lookupDomain reads it through virDomainGetMetadata). A disk or interface of a kind virtsnap
// never writes is still listed (with what it has), so that it shows as a difference.
Expected<DomainSpec, DriverError> parseDomainXml(std::string_view xml);

// The element virDomainSetMetadata stores: <owner namespace=".." name=".." uid=".."/>, without a
// namespace declaration (libvirt puts it in kOwnerNamespaceUri under kOwnerPrefix itself).
Expected<std::string, DriverError> renderOwnerElement(const Ownership& owner);
// Reads the element back (as virDomainGetMetadata returns it); an error when it is malformed.
Expected<Ownership, DriverError> parseOwnerElement(std::string_view xml);

}  // namespace virtsnap::drivers::libvirt
