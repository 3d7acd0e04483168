#pragma once
// libvirt's <domainsnapshot> XML, built and parsed through libxml2 only: every user string is
// escaped by the library, and malformed input is an error value, never a crash.

#include <string>
#include <string_view>

#include "base/expected.h"
#include "drivers/driver_error.h"
#include "drivers/snapshot_definition.h"

namespace virtsnap::drivers::libvirt {

// The XML for virDomainSnapshotCreateXML.
Expected<std::string, DriverError> renderSnapshotXml(const SnapshotRequest& request);

// Parses virDomainSnapshotGetXMLDesc's output (and keeps it whole in `xml`).
Expected<SnapshotDefinition, DriverError> parseSnapshotXml(std::string_view xml);

}  // namespace virtsnap::drivers::libvirt
