#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/enum_names.h"
#include "crds/api_names.h"
#include "crds/meta/condition.h"
#include "crds/meta/decode_error.h"
#include "crds/meta/object_meta.h"
#include "crds/meta/object_reader.h"
#include "crds/meta/quantity.h"
#include "crds/meta/resource.h"
#include "crds/meta/type_meta.h"

namespace virtsnap::crds {

// The Domain kind (crds/virtsnap.io_domains.yaml): a libvirt domain owned by the agent of one
// node. Every optional field is std::optional so that what was absent stays absent; defaults are
// the API server's business (the CRD declares them), not the decoder's, except inside list items:
// the CRD declares none there (see kDefaultDiskBus below), and the agent applies those.

// The Domain's own condition type (docs/design.md, The API), beside kstatus's Ready, Reconciling
// and Stalled (crds/meta/condition.h).
inline constexpr std::string_view kConditionRestartRequired = "RestartRequired";

enum class Firmware { Bios, Efi };
enum class DiskBus { Virtio, Sata, Scsi, Ide, Usb };
enum class ImageFormat { Qcow2, Raw };
enum class RunState { Running, Paused, Stopped };
enum class DomainDeletionPolicy { Delete, Retain };
enum class UnmanagedSnapshotPolicy { Report, Adopt, Ignore };
// libvirt's virDomainState.
enum class DomainState { NoState, Running, Blocked, Paused, Shutdown, Shutoff, Crashed, PMSuspended };

constexpr std::array<std::pair<Firmware, std::string_view>, 2> wireNames(Firmware /*unused*/) {
  return {{
      {Firmware::Bios, "bios"},
      {Firmware::Efi, "efi"},
  }};
}

constexpr std::array<std::pair<DiskBus, std::string_view>, 5> wireNames(DiskBus /*unused*/) {
  return {{
      {DiskBus::Virtio, "virtio"},
      {DiskBus::Sata, "sata"},
      {DiskBus::Scsi, "scsi"},
      {DiskBus::Ide, "ide"},
      {DiskBus::Usb, "usb"},
  }};
}

constexpr std::array<std::pair<ImageFormat, std::string_view>, 2> wireNames(ImageFormat /*unused*/) {
  return {{
      {ImageFormat::Qcow2, "qcow2"},
      {ImageFormat::Raw, "raw"},
  }};
}

constexpr std::array<std::pair<RunState, std::string_view>, 3> wireNames(RunState /*unused*/) {
  return {{
      {RunState::Running, "Running"},
      {RunState::Paused, "Paused"},
      {RunState::Stopped, "Stopped"},
  }};
}

constexpr std::array<std::pair<DomainDeletionPolicy, std::string_view>, 2> wireNames(
    DomainDeletionPolicy /*unused*/) {
  return {{
      {DomainDeletionPolicy::Delete, "Delete"},
      {DomainDeletionPolicy::Retain, "Retain"},
  }};
}

constexpr std::array<std::pair<UnmanagedSnapshotPolicy, std::string_view>, 3> wireNames(
    UnmanagedSnapshotPolicy /*unused*/) {
  return {{
      {UnmanagedSnapshotPolicy::Report, "Report"},
      {UnmanagedSnapshotPolicy::Adopt, "Adopt"},
      {UnmanagedSnapshotPolicy::Ignore, "Ignore"},
  }};
}

constexpr std::array<std::pair<DomainState, std::string_view>, 8> wireNames(DomainState /*unused*/) {
  return {{
      {DomainState::NoState, "NoState"},
      {DomainState::Running, "Running"},
      {DomainState::Blocked, "Blocked"},
      {DomainState::Paused, "Paused"},
      {DomainState::Shutdown, "Shutdown"},
      {DomainState::Shutoff, "Shutoff"},
      {DomainState::Crashed, "Crashed"},
      {DomainState::PMSuspended, "PMSuspended"},
  }};
}

// The defaults of fields inside list items, which the CRD does not declare: a default inside an item
// of a list makes the stored list differ from the applied one, so every `kubectl apply` of an
// unchanged manifest would patch the whole list and report "configured" (crds/README.md). Whoever
// turns a Domain into a libvirt definition applies these to an absent bus, format or model.
inline constexpr DiskBus kDefaultDiskBus = DiskBus::Virtio;
inline constexpr ImageFormat kDefaultImageFormat = ImageFormat::Qcow2;
inline constexpr std::string_view kDefaultNetworkModel = "virtio";

struct DomainOs {
  std::optional<std::string> arch;
  std::optional<std::string> machine;
  std::optional<Firmware> firmware;

  friend bool operator==(const DomainOs&, const DomainOs&) = default;
};

struct DiskSource {
  std::string path;

  friend bool operator==(const DiskSource&, const DiskSource&) = default;
};

struct DiskCreate {
  meta::Quantity size;
  std::optional<ImageFormat> format;

  friend bool operator==(const DiskCreate&, const DiskCreate&) = default;
};

// Exactly one of source and create is set (validateDomainSpec checks it, as the CRD's CEL does).
struct Disk {
  std::string name;  // target dev, e.g. "vda"
  std::optional<DiskBus> bus;
  std::optional<DiskSource> source;
  std::optional<DiskCreate> create;

  friend bool operator==(const Disk&, const Disk&) = default;
};

// Exactly one of network and bridge is set.
struct NetworkInterface {
  std::optional<std::string> network;
  std::optional<std::string> bridge;
  std::optional<std::string> model;

  friend bool operator==(const NetworkInterface&, const NetworkInterface&) = default;
};

struct DomainSpec {
  std::string nodeName;
  std::optional<std::string> hypervisorName;
  std::optional<bool> adoptExisting;
  std::optional<std::string> type;
  std::optional<std::int32_t> vcpus;
  std::optional<meta::Quantity> memory;
  std::optional<DomainOs> os;
  std::optional<std::vector<Disk>> disks;
  std::optional<std::vector<NetworkInterface>> networks;
  std::optional<RunState> runState;
  std::optional<DomainDeletionPolicy> deletionPolicy;
  std::optional<UnmanagedSnapshotPolicy> unmanagedSnapshots;

  friend bool operator==(const DomainSpec&, const DomainSpec&) = default;
};

struct HypervisorRef {
  std::optional<std::string> name;
  std::optional<std::string> uuid;
  std::optional<std::string> uri;

  friend bool operator==(const HypervisorRef&, const HypervisorRef&) = default;
};

struct SnapshotTreeEntry {
  std::string name;
  std::optional<std::string> parent;  // absent for a root
  std::optional<bool> current;

  friend bool operator==(const SnapshotTreeEntry&, const SnapshotTreeEntry&) = default;
};

// The CRD bounds snapshotTree; writers truncate to this and keep snapshotCount exact.
inline constexpr std::size_t kMaxSnapshotTreeEntries = 1000;
inline constexpr std::size_t kMaxUnmanagedSnapshots = 1000;

struct DomainStatus {
  std::optional<std::int64_t> observedGeneration;
  std::optional<std::vector<meta::Condition>> conditions;
  std::optional<DomainState> state;
  std::optional<HypervisorRef> hypervisor;
  std::optional<std::string> currentSnapshot;
  std::optional<std::int32_t> snapshotCount;
  std::optional<std::vector<SnapshotTreeEntry>> snapshotTree;  // topological order
  std::optional<std::vector<std::string>> unmanagedSnapshots;  // sorted

  friend bool operator==(const DomainStatus&, const DomainStatus&) = default;
};

struct Domain {
  meta::TypeMeta typeMeta{std::string(kApiVersion), std::string(kDomainKind)};
  meta::ObjectMeta metadata;
  DomainSpec spec;
  std::optional<DomainStatus> status;

  friend bool operator==(const Domain&, const Domain&) = default;
};

// Decodes a Domain document; `log` (optional) records every field path looked up.
meta::DecodeResult<Domain> decodeDomain(const nlohmann::json& document, meta::FieldPathLog* log = nullptr);
nlohmann::json encodeDomain(const Domain& domain);

// The CRD's CEL and format rules for a spec, for callers that see objects no API server has
// validated (standalone mode, adoption): one error per violated rule, empty when valid.
std::vector<meta::DecodeError> validateDomainSpec(const DomainSpec& spec);
// The CRD's transition rules: what an update may not change.
std::vector<meta::DecodeError> validateDomainSpecUpdate(const DomainSpec& oldSpec, const DomainSpec& newSpec);

// nlohmann hooks, so that json.get<Domain>() and json(domain) work; from_json throws
// DecodeException (prefer decodeDomain, which does not).
void to_json(nlohmann::json& json, const Domain& domain);
void from_json(const nlohmann::json& json, Domain& domain);
void to_json(nlohmann::json& json, const DomainSpec& spec);
void to_json(nlohmann::json& json, const DomainStatus& status);
void to_json(nlohmann::json& json, const DomainOs& os);
void to_json(nlohmann::json& json, const Disk& disk);
void to_json(nlohmann::json& json, const DiskSource& source);
void to_json(nlohmann::json& json, const DiskCreate& create);
void to_json(nlohmann::json& json, const NetworkInterface& network);
void to_json(nlohmann::json& json, const HypervisorRef& hypervisor);
void to_json(nlohmann::json& json, const SnapshotTreeEntry& entry);

}  // namespace virtsnap::crds

// Domain registers itself with the code that is generic over kinds (the typed client).
template <>
struct virtsnap::meta::Resource<virtsnap::crds::Domain> {
  static const ResourceType& type();
  static meta::DecodeResult<crds::Domain> decode(const nlohmann::json& document) {
    return crds::decodeDomain(document);
  }
  static nlohmann::json encode(const crds::Domain& object) { return crds::encodeDomain(object); }
};
