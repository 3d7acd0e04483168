#pragma once
// The guests of libvirt's host capabilities (virConnectGetCapabilities): each
// <guest><os_type>..</os_type><arch name=".."><domain type=".."/>..</arch></guest>, read through libxml2.

#include <string_view>

#include "base/expected.h"
#include "drivers/driver_error.h"
#include "drivers/hypervisor_driver.h"

namespace virtsnap::drivers::libvirt {

// The OS type of every definition virtsnap renders (<os><type>hvm</type>, domain_xml.cpp).
inline constexpr std::string_view kRenderedOsType = "hvm";

// The architectures the host offers guests of `osType` for, each with its domain types, merged over
// the <guest> elements (one per OS type and arch). An architecture without a domain type is left out.
// An error when the document is not well-formed or not <capabilities>.
Expected<GuestOffers, DriverError> parseGuestOffers(std::string_view xml, std::string_view osType);

}  // namespace virtsnap::drivers::libvirt
