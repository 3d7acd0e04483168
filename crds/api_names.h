#pragma once

#include <string_view>

namespace virtsnap::crds {

// Names shared by the CRD manifests in this folder and the code that talks to the API server.
inline constexpr std::string_view kGroup = "virtsnap.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "virtsnap.io/v1alpha1";

inline constexpr std::string_view kDomainKind = "Domain";
inline constexpr std::string_view kDomainPlural = "domains";
inline constexpr std::string_view kSnapshotKind = "Snapshot";
inline constexpr std::string_view kSnapshotPlural = "snapshots";
inline constexpr std::string_view kSnapshotRevertKind = "SnapshotRevert";
inline constexpr std::string_view kSnapshotRevertPlural = "snapshotreverts";

inline constexpr std::string_view kDomainFinalizer = "virtsnap.io/domain-protection";
inline constexpr std::string_view kSnapshotFinalizer = "virtsnap.io/snapshot-protection";

}  // namespace virtsnap::crds
