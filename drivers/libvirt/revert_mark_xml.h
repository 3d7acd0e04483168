#pragma once
// virtsnap's revert mark in a domain's <metadata>: <revert uid=".."/>, the SnapshotRevert about to be
// made. A revert replaces the domain's definition with the snapshot's, which has no such mark, so a mark
// still there after an agent restart says that revert was not made yet (see HypervisorDriver).

#include <string>
#include <string_view>

#include "base/expected.h"
#include "drivers/driver_error.h"

namespace virtsnap::drivers::libvirt {

inline constexpr std::string_view kRevertMarkNamespaceUri = "https://virtsnap.io/xmlns/revert/v1";
inline constexpr std::string_view kRevertMarkPrefix = "virtsnaprevert";

// The element virDomainSetMetadata stores, without a namespace declaration (libvirt adds it).
Expected<std::string, DriverError> renderRevertMarkElement(const std::string& uid);
// The uid of the element as virDomainGetMetadata returns it; an error when it is malformed.
Expected<std::string, DriverError> parseRevertMarkElement(std::string_view xml);

}  // namespace virtsnap::drivers::libvirt
