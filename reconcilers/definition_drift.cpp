#include "reconcilers/definition_drift.h"

#include <algorithm>
#include <cstdint>

namespace virtsnap::reconcilers {

namespace {

std::string mebibytes(std::uint64_t bytes) {
  const std::uint64_t mib = bytes >> 20;
  return (mib << 20) == bytes ? std::to_string(mib) + " MiB" : std::to_string(bytes) + " bytes";
}

std::string describe(const drivers::DiskSpec& disk) {
  return disk.path + " (" + (disk.format.empty() ? std::string("no format") : disk.format) + ", bus " +
         (disk.bus.empty() ? std::string("none") : disk.bus) + (disk.readOnly ? ", read-only" : "") + ")";
}

std::string describe(const drivers::NetworkSpec& net) {
  return (net.bridge.empty() ? "network " + net.network : "bridge " + net.bridge) + " (" + net.model + ")";
}

template <typename T>
void compare(std::vector<std::string>& drift, const std::string& field, const T& desired, const T& live,
             const std::string& desiredText, const std::string& liveText) {
  if (!(desired == live)) {
    drift.push_back(field + ": " + desiredText + " in the spec, " + liveText + " defined");
  }
}

}  // namespace

std::vector<std::string> definitionDrift(const drivers::DomainSpec& desired, const drivers::DomainSpec& live,
                                         const std::set<std::string>& overlaid) {
  std::vector<std::string> drift;
  compare(drift, "type", desired.type, live.type, desired.type, live.type);
  compare(drift, "vcpus", desired.vcpus, live.vcpus, std::to_string(desired.vcpus),
          std::to_string(live.vcpus));
  // The spec's memory is rendered in KiB, rounded up.
  const std::uint64_t desiredKiB = (desired.memoryBytes + 1023) / 1024;
  const std::uint64_t liveKiB = (live.memoryBytes + 1023) / 1024;
  compare(drift, "memory", desiredKiB, liveKiB, mebibytes(desired.memoryBytes), mebibytes(live.memoryBytes));
  compare(drift, "arch", desired.arch, live.arch, desired.arch, live.arch);
  compare(drift, "firmware", desired.firmware, live.firmware,
          desired.firmware == drivers::Firmware::Efi ? "efi" : "bios",
          live.firmware == drivers::Firmware::Efi ? "efi" : "bios");

  for (const drivers::DiskSpec& disk : desired.disks) {
    auto it = std::find_if(live.disks.begin(), live.disks.end(),
                           [&](const drivers::DiskSpec& other) { return other.target == disk.target; });
    if (it == live.disks.end()) {
      drift.push_back("disk " + disk.target + ": " + describe(disk) + " in the spec, missing");
      continue;
    }
    drivers::DiskSpec expected = disk;
    if (overlaid.contains(disk.target)) {
      expected.path = it->path;
      expected.format = it->format;
    }
    compare(drift, "disk " + disk.target, expected, *it, describe(expected), describe(*it));
  }
  for (const drivers::DiskSpec& disk : live.disks) {
    const bool asked =
        std::any_of(desired.disks.begin(), desired.disks.end(),
                    [&](const drivers::DiskSpec& other) { return other.target == disk.target; });
    if (!asked) {
      drift.push_back("disk " + disk.target + ": not in the spec, " + describe(disk) + " defined");
    }
  }
  const std::size_t common = std::min(desired.networks.size(), live.networks.size());
  for (std::size_t i = 0; i < common; ++i) {
    compare(drift, "interface " + std::to_string(i + 1), desired.networks[i], live.networks[i],
            describe(desired.networks[i]), describe(live.networks[i]));
  }
  for (std::size_t i = common; i < desired.networks.size(); ++i) {
    drift.push_back("interface " + std::to_string(i + 1) + ": " + describe(desired.networks[i]) +
                    " in the spec, missing");
  }
  for (std::size_t i = common; i < live.networks.size(); ++i) {
    drift.push_back("interface " + std::to_string(i + 1) + ": not in the spec, " +
                    describe(live.networks[i]) + " defined");
  }
  return drift;
}

drivers::DomainSpec keepOverlays(drivers::DomainSpec desired, const drivers::DomainSpec& live,
                                 const std::set<std::string>& overlaid) {
  for (drivers::DiskSpec& disk : desired.disks) {
    if (!overlaid.contains(disk.target)) {
      continue;
    }
    auto it = std::find_if(live.disks.begin(), live.disks.end(),
                           [&](const drivers::DiskSpec& other) { return other.target == disk.target; });
    if (it != live.disks.end() && !it->path.empty() && it->path.front() == '/') {
      disk.path = it->path;
      disk.format = it->format;
    }
  }
  return desired;
}

std::set<std::string> overlaidDisks(const DomainView& view) {
  std::set<std::string> disks;
  for (const auto& [name, definition] : view.definitions) {
    for (const drivers::SnapshotDisk& disk : definition.disks) {
      if (disk.snapshot == "external") {
        disks.insert(disk.name);
      }
    }
  }
  return disks;
}

}  // namespace virtsnap::reconcilers
