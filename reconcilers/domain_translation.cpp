#include "reconcilers/domain_translation.h"

#include <algorithm>

#include "base/enum_names.h"

namespace virtsnap::reconcilers {

std::string hypervisorName(const crds::Domain& domain) {
  if (domain.spec.hypervisorName && !domain.spec.hypervisorName->empty()) {
    return *domain.spec.hypervisorName;
  }
  return domain.metadata.namespaceName.value_or("default") + "." + domain.metadata.name.value_or("");
}

drivers::Ownership ownershipOf(const crds::Domain& domain) {
  return drivers::Ownership{domain.metadata.namespaceName.value_or(""), domain.metadata.name.value_or(""),
                            domain.metadata.uid.value_or("")};
}

std::vector<drivers::VolumeRequest> volumesFor(const crds::Domain& domain, const std::string& pool) {
  std::vector<drivers::VolumeRequest> volumes;
  if (!domain.spec.disks) {
    return volumes;
  }
  for (const crds::Disk& disk : *domain.spec.disks) {
    if (!disk.create) {
      continue;
    }
    const std::string format(enumName(disk.create->format.value_or(crds::kDefaultImageFormat)));
    drivers::VolumeRequest request;
    request.pool = pool;
    request.name = hypervisorName(domain) + "-" + disk.name + "." + format;
    request.capacityBytes = static_cast<std::uint64_t>(disk.create->size.bytes());
    request.format = format;
    volumes.push_back(std::move(request));
  }
  return volumes;
}

std::optional<std::string> textProblem(std::string_view field, std::string_view value, bool multiline) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if ((c < 0x20 || c == 0x7f) && !(multiline && (c == '\t' || c == '\n' || c == '\r'))) {
      static constexpr char kHex[] = "0123456789abcdef";
      return std::string(field) + ": control character 0x" + kHex[c >> 4U] + kHex[c & 0xfU] + " at byte " +
             std::to_string(i) + "; libvirt's XML cannot carry it";
    }
  }
  return std::nullopt;
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out.empty() ? "none" : out;
}

// `field "value"`, or `field "value" (the default)` when the spec leaves it unset.
std::string quoted(std::string_view field, const std::optional<std::string>& set, const std::string& value) {
  return std::string(field) + " \"" + value + "\"" + (set ? "" : " (the default)");
}

}  // namespace

std::optional<std::string> guestProblem(const crds::DomainSpec& spec, const drivers::GuestOffers& offers) {
  const drivers::DomainSpec defaults;
  const std::optional<std::string> setArch = spec.os ? spec.os->arch : std::nullopt;
  const std::string arch = setArch.value_or(defaults.arch);
  const std::string type = spec.type.value_or(defaults.type);
  std::vector<std::string> arches;
  std::vector<std::string> types;  // over every arch
  const drivers::GuestOffer* forArch = nullptr;
  for (const drivers::GuestOffer& offer : offers) {
    arches.push_back(offer.arch);
    types.insert(types.end(), offer.domainTypes.begin(), offer.domainTypes.end());
    if (offer.arch == arch) {
      forArch = &offer;
    }
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::vector<std::string> problems;
  if (forArch == nullptr) {
    problems.push_back(quoted("spec.os.arch", setArch, arch) +
                       " is not offered by this host (offered: " + joined(arches) + ")");
  }
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    problems.push_back(quoted("spec.type", spec.type, type) +
                       " is not offered by this host (offered: " + joined(types) + ")");
  } else if (forArch != nullptr && std::find(forArch->domainTypes.begin(), forArch->domainTypes.end(),
                                             type) == forArch->domainTypes.end()) {
    problems.push_back(quoted("spec.type", spec.type, type) + " is not offered by this host for " +
                       quoted("spec.os.arch", setArch, arch) + " (offered for " + arch + ": " +
                       joined(forArch->domainTypes) + ")");
  }
  if (problems.empty()) {
    return std::nullopt;
  }
  std::string message;
  for (const std::string& problem : problems) {
    message += (message.empty() ? "" : "; ") + problem;
  }
  return message;
}

std::optional<std::string> hypervisorProblem(const crds::Domain& domain) {
  const crds::DomainSpec& spec = domain.spec;
  const std::string name = hypervisorName(domain);
  const std::string nameField =
      spec.hypervisorName && !spec.hypervisorName->empty()
          ? "spec.hypervisorName"
          : "metadata.name (the hypervisor name is <namespace>.<name>, \"" + name + "\")";
  if (auto problem = textProblem(nameField, name, false)) {
    return problem;
  }
  if (name == "." || name == "..") {
    return nameField + ": \"" + name + "\" is a path segment, not a domain name";
  }
  if (name.size() > drivers::kMaxDomainNameLength) {
    return nameField + ": " + std::to_string(name.size()) +
           " characters; libvirt domain names here are at most " +
           std::to_string(drivers::kMaxDomainNameLength);
  }
  if (spec.memory && static_cast<std::uint64_t>(spec.memory->bytes()) > drivers::kMaxMemoryBytes) {
    return "spec.memory: " + spec.memory->text() + " is more than libvirt's maximum of " +
           std::to_string(drivers::kMaxMemoryBytes) + " bytes";
  }
  if (spec.disks) {
    for (std::size_t i = 0; i < spec.disks->size(); ++i) {
      const crds::Disk& disk = (*spec.disks)[i];
      if (disk.source) {
        if (auto problem =
                textProblem("spec.disks[" + std::to_string(i) + "].source.path", disk.source->path, false)) {
          return problem;
        }
      }
    }
  }
  if (spec.networks) {
    for (std::size_t i = 0; i < spec.networks->size(); ++i) {
      const crds::NetworkInterface& network = (*spec.networks)[i];
      const std::string field = "spec.networks[" + std::to_string(i) + "]";
      if (auto problem = textProblem(field + ".network", network.network.value_or(""), false)) {
        return problem;
      }
      const std::string model = network.model.value_or(std::string(crds::kDefaultNetworkModel));
      if (std::find(drivers::kNetworkModels.begin(), drivers::kNetworkModels.end(), model) ==
          drivers::kNetworkModels.end()) {
        std::string known;
        for (std::string_view each : drivers::kNetworkModels) {
          known += (known.empty() ? "" : ", ") + std::string(each);
        }
        return field + ".model: \"" + model + "\" is not one of " + known;
      }
    }
  }
  return std::nullopt;
}

Expected<drivers::DomainSpec, std::string> translateDomain(
    const crds::Domain& domain, const drivers::StorageRoots& roots,
    const std::map<std::string, std::string>& volumePaths) {
  const crds::DomainSpec& spec = domain.spec;
  drivers::DomainSpec out;
  out.name = hypervisorName(domain);
  out.type = spec.type.value_or("kvm");
  if (spec.vcpus) {
    if (*spec.vcpus < 1) {
      return unexpected("spec.vcpus must be at least 1, not " + std::to_string(*spec.vcpus));
    }
    out.vcpus = static_cast<unsigned>(*spec.vcpus);
  }
  if (spec.memory) {
    if (spec.memory->bytes() < (1 << 20)) {
      return unexpected("spec.memory " + spec.memory->text() + " is less than 1Mi");
    }
    out.memoryBytes = static_cast<std::uint64_t>(spec.memory->bytes());
  }
  if (spec.os) {
    out.arch = spec.os->arch.value_or(out.arch);
    out.machine = spec.os->machine.value_or("");
    out.firmware = spec.os->firmware.value_or(crds::Firmware::Bios) == crds::Firmware::Efi
                       ? drivers::Firmware::Efi
                       : drivers::Firmware::Bios;
  }
  if (spec.disks) {
    for (std::size_t i = 0; i < spec.disks->size(); ++i) {
      const crds::Disk& disk = (*spec.disks)[i];
      const std::string field = "spec.disks[" + std::to_string(i) + "]";
      drivers::DiskSpec target;
      target.target = disk.name;
      target.bus = std::string(enumName(disk.bus.value_or(crds::kDefaultDiskBus)));
      if (disk.source) {
        auto confined = roots.confine(disk.source->path);
        if (!confined) {
          return unexpected(field + ".source.path: " + confined.error().message);
        }
        target.path = confined->string();
        target.format = target.path.ends_with(".raw") || target.path.ends_with(".img") ? "raw" : "qcow2";
      } else if (disk.create) {
        auto path = volumePaths.find(disk.name);
        if (path == volumePaths.end()) {
          return unexpected(field + ".create: no volume was created for disk " + disk.name);
        }
        target.path = path->second;
        target.format = std::string(enumName(disk.create->format.value_or(crds::kDefaultImageFormat)));
      } else {
        return unexpected(field + ": exactly one of source and create must be set");
      }
      out.disks.push_back(std::move(target));
    }
  }
  if (spec.networks) {
    for (std::size_t i = 0; i < spec.networks->size(); ++i) {
      const crds::NetworkInterface& network = (*spec.networks)[i];
      if (network.network.has_value() == network.bridge.has_value()) {
        return unexpected("spec.networks[" + std::to_string(i) +
                          "]: exactly one of network and bridge must be set");
      }
      drivers::NetworkSpec target;
      target.network = network.network.value_or("");
      target.bridge = network.bridge.value_or("");
      target.model = network.model.value_or(std::string(crds::kDefaultNetworkModel));
      out.networks.push_back(std::move(target));
    }
  }
  out.owner = ownershipOf(domain);
  return out;
}

}  // namespace virtsnap::reconcilers
