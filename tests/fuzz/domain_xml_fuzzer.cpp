// libFuzzer target: the domain-side XML virtsnap reads (the ownership element from a domain's
// metadata) and writes (a domain rendered from fields taken from the input).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "drivers/libvirt/domain_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace virtsnap::drivers;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto owner = libvirt::parseOwnerElement(text);
  if (owner.has_value()) {
    auto rendered = libvirt::renderOwnerElement(owner.value());
    if (!rendered.has_value() || !(libvirt::parseOwnerElement(rendered.value()).value() == owner.value())) {
      __builtin_trap();
    }
  }
  // Split the input into fields and render a domain from them: hostile strings must stay strings.
  std::string fields[4];
  std::size_t field = 0;
  for (char c : text) {
    if (c == '\n' && field < 3) {
      ++field;
    } else {
      fields[field] += c;
    }
  }
  DomainSpec spec;
  spec.name = fields[0];
  spec.disks.push_back(DiskSpec{"vda", "virtio", "/images/" + fields[1], "qcow2", false});
  spec.owner = Ownership{fields[2].empty() ? "ns" : fields[2], fields[3].empty() ? "n" : fields[3], "uid"};
  auto xml = libvirt::renderDomainXml(spec);
  if (xml.has_value() && xml.value().find("<hostdev") != std::string::npos) {
    __builtin_trap();  // an injected element got through
  }
  return 0;
}
