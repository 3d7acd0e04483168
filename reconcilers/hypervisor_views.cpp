#include "reconcilers/hypervisor_views.h"

#include <utility>

namespace virtsnap::reconcilers {

HypervisorViews::Access HypervisorViews::access(const std::string& domain) {
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard lock(mutex_);
    auto& entry = slots_[domain];
    if (!entry) {
      entry = std::make_shared<Slot>();
    }
    slot = entry;
  }
  return Access(std::move(slot), domain);
}

std::map<std::string, TreePosition, std::less<>> HypervisorViews::positionsOf(
    const drivers::SnapshotTree& tree) {
  std::map<std::string, TreePosition, std::less<>> positions;
  const std::optional<std::string> current = tree.current();
  tree.forEachTopological([&](const drivers::SnapshotRecord& record, std::size_t depth) {
    TreePosition position;
    position.parent = record.parent;
    position.children = tree.childrenOf(record.name);
    position.current = current == record.name;
    position.depth = depth;
    position.deletionBlock = tree.checkDeletion(record.name, drivers::DeleteOptions{});
    positions.emplace(record.name, std::move(position));
  });
  return positions;
}

namespace {

ViewChange diff(const std::map<std::string, TreePosition, std::less<>>& before,
                const std::map<std::string, TreePosition, std::less<>>& after) {
  ViewChange change;
  for (const auto& [name, position] : before) {
    auto it = after.find(name);
    if (it == after.end() || !(it->second == position)) {
      change.changed.insert(name);
    }
  }
  for (const auto& [name, position] : after) {
    if (!before.contains(name)) {
      change.changed.insert(name);
    }
  }
  return change;
}

}  // namespace

Expected<ViewChange, drivers::DriverError> HypervisorViews::refresh(Access& access) {
  auto listing = driver_.listSnapshots(access.domain());
  if (!listing) {
    return unexpected(listing.error());
  }
  DomainView& view = access.view();
  std::vector<drivers::SnapshotRecord> records;
  records.reserve(listing->snapshots.size());
  std::map<std::string, drivers::SnapshotDefinition, std::less<>> definitions;
  for (auto& definition : listing->snapshots) {
    records.push_back(definition.record());
    std::string name = definition.name;
    definitions.emplace(std::move(name), std::move(definition));
  }
  drivers::SnapshotTree tree;
  tree.rebuild(records, listing->current);
  auto positions = positionsOf(tree);
  ViewChange change = diff(view.positions, positions);
  view.loaded = true;
  view.refreshedAt = clock_->now();
  view.tree = std::move(tree);
  view.definitions = std::move(definitions);
  view.positions = std::move(positions);
  return change;
}

Expected<ViewChange, drivers::DriverError> HypervisorViews::refreshIfOlder(Access& access,
                                                                           std::chrono::nanoseconds maxAge) {
  if (access.view().loaded && clock_->now() - access.view().refreshedAt < maxAge) {
    return ViewChange{};
  }
  return refresh(access);
}

ViewChange HypervisorViews::forget(Access& access) {
  DomainView& view = access.view();
  ViewChange change = diff(view.positions, {});
  view.tree.clear();
  view.definitions.clear();
  view.positions.clear();
  view.loaded = false;
  return change;
}

}  // namespace virtsnap::reconcilers
