#include "reconcilers/status_from_view.h"

#include <algorithm>
#include <chrono>

#include "crds/meta/time.h"

namespace virtsnap::reconcilers {

crds::SnapshotDomainState snapshotDomainState(const std::string& libvirtState) {
  using S = crds::SnapshotDomainState;
  if (libvirtState == "running")
    return S::Running;
  if (libvirtState == "blocked")
    return S::Blocked;
  if (libvirtState == "paused")
    return S::Paused;
  if (libvirtState == "shutdown")
    return S::Shutdown;
  if (libvirtState == "shutoff")
    return S::Shutoff;
  if (libvirtState == "crashed")
    return S::Crashed;
  if (libvirtState == "pmsuspended")
    return S::PMSuspended;
  if (libvirtState == "disk-snapshot")
    return S::DiskSnapshot;
  return S::NoState;
}

crds::DiskSnapshotMode diskSnapshotMode(const std::string& libvirtMode) {
  using M = crds::DiskSnapshotMode;
  if (libvirtMode == "internal")
    return M::Internal;
  if (libvirtMode == "external")
    return M::External;
  if (libvirtMode == "manual")
    return M::Manual;
  return M::None;
}

void applyTreeFacts(crds::SnapshotStatus& status, const TreePosition& position,
                    const ViewedDefinition& definition, crds::SnapshotDeletionPolicy policy) {
  status.parent = position.parent;
  std::vector<std::string> children = position.children;
  if (children.size() > crds::kMaxSnapshotChildren) {
    children.resize(crds::kMaxSnapshotChildren);
  }
  status.children = std::move(children);
  status.current = position.current;
  status.depth = static_cast<std::int32_t>(position.depth);
  const bool blocked = position.deletionBlocked.has_value() && policy == crds::SnapshotDeletionPolicy::Delete;
  status.deletable = !blocked;
  status.deletionBlockedReason =
      blocked ? std::optional<std::string>(std::string(drivers::toString(*position.deletionBlocked)))
              : std::nullopt;

  status.creationTime =
      meta::formatTime(std::chrono::system_clock::time_point(std::chrono::seconds(definition.creationTime)));
  status.domainState = snapshotDomainState(definition.state);
  status.location = definition.location == drivers::SnapshotLocation::External
                        ? crds::SnapshotLocation::External
                        : crds::SnapshotLocation::Internal;
  status.memory = !definition.memory.empty() && definition.memory != "no";
  std::vector<crds::SnapshotDiskStatus> disks;
  for (const auto& disk : definition.disks) {
    crds::SnapshotDiskStatus entry;
    entry.name = disk.name;
    entry.snapshot = diskSnapshotMode(disk.snapshot);
    if (!disk.file.empty()) {
      entry.file = disk.file;
    }
    disks.push_back(std::move(entry));
  }
  std::sort(disks.begin(), disks.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  status.disks = std::move(disks);
}

void applyTreeFacts(crds::DomainStatus& status, const DomainView& view, const std::set<std::string>& managed,
                    bool report) {
  status.currentSnapshot = view.tree.current();
  status.snapshotCount = static_cast<std::int32_t>(view.tree.size());
  std::vector<crds::SnapshotTreeEntry> tree;
  tree.reserve(std::min(view.tree.size(), crds::kMaxSnapshotTreeEntries));
  const auto current = view.tree.current();
  view.tree.forEachTopological([&](const drivers::SnapshotRecord& record, std::size_t /*depth*/) {
    if (tree.size() >= crds::kMaxSnapshotTreeEntries) {
      return;
    }
    crds::SnapshotTreeEntry entry;
    entry.name = record.name;
    entry.parent = record.parent;
    if (current == record.name) {
      entry.current = true;
    }
    tree.push_back(std::move(entry));
  });
  status.snapshotTree = std::move(tree);
  if (!report) {
    status.unmanagedSnapshots.reset();
    return;
  }
  std::vector<std::string> unmanaged;
  for (const auto& [name, definition] : view.definitions) {  // sorted by name
    if (!managed.contains(name) && unmanaged.size() < crds::kMaxUnmanagedSnapshots) {
      unmanaged.push_back(name);
    }
  }
  if (unmanaged.empty()) {
    status.unmanagedSnapshots.reset();
  } else {
    status.unmanagedSnapshots = std::move(unmanaged);
  }
}

}  // namespace virtsnap::reconcilers
