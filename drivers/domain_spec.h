#pragma once
// What a domain should look like, in the hypervisor layer's own terms (the reconcilers translate the
// Domain resource into this; this layer knows nothing of Kubernetes).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace virtsnap::drivers {

// The longest domain name rendered (libvirt derives per-domain file and socket paths from it).
inline constexpr std::size_t kMaxDomainNameLength = 200;
// The most memory rendered: libvirt refuses 2^53 KiB and more ("numerical overflow").
inline constexpr std::uint64_t kMaxMemoryBytes = ((std::uint64_t{1} << 53U) - 1) * 1024;
// The network interface models rendered.
inline constexpr std::array<std::string_view, 4> kNetworkModels{"virtio", "e1000", "e1000e", "rtl8139"};

// Who owns a domain: written into the domain's XML <metadata> in virtsnap's own namespace, so that
// ownership survives agent restarts and shows in `virsh dumpxml`.
struct Ownership {
  std::string namespaceName;
  std::string name;
  std::string uid;

  bool operator==(const Ownership&) const = default;
};

struct DiskSpec {
  std::string target;            // guest device, e.g. vda
  std::string bus = "virtio";    // virtio, sata, scsi, ide
  std::string path;              // the image; must lie under an allowed storage root
  std::string format = "qcow2";  // qcow2 or raw
  bool readOnly = false;

  bool operator==(const DiskSpec&) const = default;
};

struct NetworkSpec {
  std::string network;  // a libvirt network, or
  std::string bridge;   // a host bridge (exactly one of the two)
  std::string model = "virtio";

  bool operator==(const NetworkSpec&) const = default;
};

enum class Firmware { Bios, Efi };

struct DomainSpec {
  std::string name;                 // the hypervisor's domain name
  std::optional<std::string> uuid;  // kept when a domain is defined again (snapshot redefine needs it)
  std::string type = "kvm";         // kvm, qemu, test, ...
  unsigned vcpus = 1;
  std::uint64_t memoryBytes = 512ull << 20;
  std::string arch = "x86_64";
  std::string machine;  // empty: the hypervisor's default
  Firmware firmware = Firmware::Bios;
  std::vector<DiskSpec> disks;
  std::vector<NetworkSpec> networks;
  std::optional<Ownership> owner;

  bool operator==(const DomainSpec&) const = default;
};

}  // namespace virtsnap::drivers
