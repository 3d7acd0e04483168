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
#include "crds/meta/resource.h"
#include "crds/meta/type_meta.h"

namespace virtsnap::crds {

// The Snapshot kind (crds/virtsnap.io_snapshots.yaml): one libvirt snapshot of a Domain. The
// hypervisor's snapshot name is metadata.name; the parent is an outcome reported in status.

// The Snapshot's own condition type (docs/design.md, The API): its deletion is refused for now, and
// status.deletionBlockedReason says why. kstatus's Ready, Reconciling and Stalled are in
// crds/meta/condition.h.
inline constexpr std::string_view kConditionDeletionBlocked = "DeletionBlocked";

enum class SnapshotLocation { Internal, External };
enum class SnapshotDeletionPolicy { Delete, MetadataOnly, Retain };
enum class SnapshotPhase { Pending, Creating, Ready, Deleting, Failed, Lost };
// libvirt's virDomainSnapshotState: a domain state, or DiskSnapshot for a disk-only snapshot.
enum class SnapshotDomainState {
  NoState,
  Running,
  Blocked,
  Paused,
  Shutdown,
  Shutoff,
  Crashed,
  PMSuspended,
  DiskSnapshot,
};
// libvirt's <disk snapshot='...'>.
enum class DiskSnapshotMode { None, Internal, External, Manual };

constexpr std::array<std::pair<SnapshotLocation, std::string_view>, 2> wireNames(
    SnapshotLocation /*unused*/) {
  return {{
      {SnapshotLocation::Internal, "Internal"},
      {SnapshotLocation::External, "External"},
  }};
}

constexpr std::array<std::pair<SnapshotDeletionPolicy, std::string_view>, 3> wireNames(
    SnapshotDeletionPolicy /*unused*/) {
  return {{
      {SnapshotDeletionPolicy::Delete, "Delete"},
      {SnapshotDeletionPolicy::MetadataOnly, "MetadataOnly"},
      {SnapshotDeletionPolicy::Retain, "Retain"},
  }};
}

constexpr std::array<std::pair<SnapshotPhase, std::string_view>, 6> wireNames(SnapshotPhase /*unused*/) {
  return {{
      {SnapshotPhase::Pending, "Pending"},
      {SnapshotPhase::Creating, "Creating"},
      {SnapshotPhase::Ready, "Ready"},
      {SnapshotPhase::Deleting, "Deleting"},
      {SnapshotPhase::Failed, "Failed"},
      {SnapshotPhase::Lost, "Lost"},
  }};
}

constexpr std::array<std::pair<SnapshotDomainState, std::string_view>, 9> wireNames(
    SnapshotDomainState /*unused*/) {
  return {{
      {SnapshotDomainState::NoState, "NoState"},
      {SnapshotDomainState::Running, "Running"},
      {SnapshotDomainState::Blocked, "Blocked"},
      {SnapshotDomainState::Paused, "Paused"},
      {SnapshotDomainState::Shutdown, "Shutdown"},
      {SnapshotDomainState::Shutoff, "Shutoff"},
      {SnapshotDomainState::Crashed, "Crashed"},
      {SnapshotDomainState::PMSuspended, "PMSuspended"},
      {SnapshotDomainState::DiskSnapshot, "DiskSnapshot"},
  }};
}

constexpr std::array<std::pair<DiskSnapshotMode, std::string_view>, 4> wireNames(
    DiskSnapshotMode /*unused*/) {
  return {{
      {DiskSnapshotMode::None, "None"},
      {DiskSnapshotMode::Internal, "Internal"},
      {DiskSnapshotMode::External, "External"},
      {DiskSnapshotMode::Manual, "Manual"},
  }};
}

// Immutable after creation except description and deletionPolicy.
struct SnapshotSpec {
  std::string domainName;
  std::optional<std::string> description;
  std::optional<SnapshotLocation> location;
  std::optional<bool> memory;   // External only
  std::optional<bool> quiesce;  // External with memory == false only
  std::optional<SnapshotDeletionPolicy> deletionPolicy;

  friend bool operator==(const SnapshotSpec&, const SnapshotSpec&) = default;
};

struct SnapshotDiskStatus {
  std::string name;
  std::optional<DiskSnapshotMode> snapshot;
  std::optional<std::string> file;

  friend bool operator==(const SnapshotDiskStatus&, const SnapshotDiskStatus&) = default;
};

// The CRD bounds children; writers truncate the sorted list to this.
inline constexpr std::size_t kMaxSnapshotChildren = 1000;

struct SnapshotStatus {
  std::optional<SnapshotPhase> phase;
  std::optional<std::int64_t> observedGeneration;
  std::optional<std::vector<meta::Condition>> conditions;
  std::optional<std::string> nodeName;
  std::optional<std::string> creationTime;  // the hypervisor's, RFC 3339
  std::optional<std::string> parent;
  std::optional<std::vector<std::string>> children;  // sorted
  std::optional<bool> current;
  std::optional<std::int32_t> depth;
  std::optional<SnapshotDomainState> domainState;
  std::optional<SnapshotLocation> location;
  std::optional<bool> memory;
  std::optional<std::vector<SnapshotDiskStatus>> disks;  // sorted by name
  std::optional<bool> deletable;
  std::optional<std::string> deletionBlockedReason;
  std::optional<std::string> definition;  // libvirt snapshot XML, for redefining a lost tree

  friend bool operator==(const SnapshotStatus&, const SnapshotStatus&) = default;
};

struct Snapshot {
  meta::TypeMeta typeMeta{std::string(kApiVersion), std::string(kSnapshotKind)};
  meta::ObjectMeta metadata;
  SnapshotSpec spec;
  std::optional<SnapshotStatus> status;

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Decodes a Snapshot document; `log` (optional) records every field path looked up.
meta::DecodeResult<Snapshot> decodeSnapshot(const nlohmann::json& document,
                                            meta::FieldPathLog* log = nullptr);
nlohmann::json encodeSnapshot(const Snapshot& snapshot);

// The CRD's cross-field CEL rules (memory only for External; quiesce only External disk-only).
std::vector<meta::DecodeError> validateSnapshotSpec(const SnapshotSpec& spec);
// The CRD's transition rules: only description and deletionPolicy may change.
std::vector<meta::DecodeError> validateSnapshotSpecUpdate(const SnapshotSpec& oldSpec,
                                                          const SnapshotSpec& newSpec);

void to_json(nlohmann::json& json, const Snapshot& snapshot);
void from_json(const nlohmann::json& json, Snapshot& snapshot);  // throws DecodeException
void to_json(nlohmann::json& json, const SnapshotSpec& spec);
void to_json(nlohmann::json& json, const SnapshotStatus& status);
void to_json(nlohmann::json& json, const SnapshotDiskStatus& disk);

}  // namespace virtsnap::crds

// Snapshot registers itself with the code that is generic over kinds (the typed client).
template <>
struct virtsnap::meta::Resource<virtsnap::crds::Snapshot> {
  static const ResourceType& type();
  static meta::DecodeResult<crds::Snapshot> decode(const nlohmann::json& document) {
    return crds::decodeSnapshot(document);
  }
  static nlohmann::json encode(const crds::Snapshot& object) { return crds::encodeSnapshot(object); }
};
