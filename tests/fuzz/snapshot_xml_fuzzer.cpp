// libFuzzer target: libvirt snapshot XML (what the hypervisor or a Snapshot's status.definition holds).
// Any input must parse or give an error value; a parsed definition must render back to XML.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "drivers/libvirt/snapshot_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace virtsnap::drivers;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = libvirt::parseSnapshotXml(text);
  if (parsed.has_value()) {
    SnapshotRequest request;
    request.name = parsed.value().name;
    request.description = parsed.value().description;
    request.disks = parsed.value().disks;
    auto rendered = libvirt::renderSnapshotXml(request);
    if (rendered.has_value()) {
      auto again = libvirt::parseSnapshotXml(rendered.value());
      if (!again.has_value() || again.value().name != request.name ||
          again.value().description != request.description) {
        __builtin_trap();  // what we render must read back as written
      }
    }
  }
  return 0;
}
