#include "reconcilers/hypervisor_views.h"

#include <string_view>
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
  auto shape = driver_.listSnapshotShape(access.domain());
  if (!shape) {
    return unexpected(shape.error());
  }
  DomainView& view = access.view();
  // A definition is fetched again only when its snapshot is new to the view or its neighbourhood
  // moved (its parent, its children or its current mark): libvirt rewrites a snapshot's XML when its
  // parent changes (the <parent> element), and around reverts and deletions of its neighbours
  // (external disks), all of which move the neighbourhood of the snapshots concerned.
  std::set<std::string, std::less<>> moved;
  std::size_t known = 0;
  for (const drivers::SnapshotLink& link : shape->snapshots) {
    auto position = view.positions.find(link.name);
    auto definition = view.definitions.find(link.name);
    if (position == view.positions.end() || definition == view.definitions.end()) {
      moved.insert(link.name);
      if (link.parent) {
        moved.insert(*link.parent);  // a child more
      }
      continue;
    }
    ++known;
    if (definition->second.parent != link.parent) {
      moved.insert(link.name);  // fetched while the tree changed outside virtsnap
    }
    if (position->second.parent != link.parent) {
      moved.insert(link.name);
      if (position->second.parent) {
        moved.insert(*position->second.parent);  // a child less
      }
      if (link.parent) {
        moved.insert(*link.parent);  // a child more
      }
    } else if (position->second.current != (shape->current == link.name)) {
      moved.insert(link.name);
    }
  }
  if (known != view.positions.size()) {  // some are gone: their parents lost a child
    std::set<std::string_view> listed;
    for (const drivers::SnapshotLink& link : shape->snapshots) {
      listed.insert(link.name);
    }
    for (const auto& [name, position] : view.positions) {
      if (!listed.contains(name) && position.parent) {
        moved.insert(*position.parent);
      }
    }
  } else if (view.loaded && moved.empty()) {
    view.refreshedAt = clock_->now();  // the same tree: nothing to fetch, nothing to rebuild
    return ViewChange{};
  }
  std::vector<std::string> stale;
  for (const drivers::SnapshotLink& link : shape->snapshots) {
    if (moved.contains(link.name)) {
      stale.push_back(link.name);
    }
  }
  auto fetched = driver_.describeSnapshots(access.domain(), stale);
  if (!fetched) {
    return unexpected(fetched.error());
  }
  std::map<std::string, drivers::SnapshotDefinition, std::less<>> definitions;
  for (drivers::SnapshotDefinition& definition : *fetched) {
    std::string name = definition.name;
    definitions.emplace(std::move(name), std::move(definition));
  }
  std::vector<drivers::SnapshotRecord> records;
  records.reserve(shape->snapshots.size());
  for (drivers::SnapshotLink& link : shape->snapshots) {
    auto fresh = definitions.find(link.name);
    if (fresh == definitions.end()) {
      auto node = view.definitions.extract(link.name);
      fresh = definitions.insert(std::move(node)).position;
    }
    // The shape is the tree's authority: a definition fetched after a concurrent change outside
    // virtsnap may name another parent; the next refresh fetches it again.
    records.push_back(drivers::SnapshotRecord{link.name, link.parent, fresh->second.location});
  }
  drivers::SnapshotTree tree;
  tree.rebuild(records, shape->current);
  auto positions = positionsOf(tree);
  ViewChange change = diff(view.positions, positions);
  change.definitionsFetched = stale.size();
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
