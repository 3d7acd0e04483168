#include "reconcilers/hypervisor_views.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

namespace virtsnap::reconcilers {

std::uint64_t definitionDigest(std::string_view xml) {
  return std::hash<std::string_view>{}(xml);
}

namespace {

// Whether the view holds `name` as an internal snapshot (false when it does not know it).
bool isInternal(const DomainView& view, std::string_view name) {
  auto definition = view.definitions.find(name);
  return definition != view.definitions.end() &&
         definition->second.location == drivers::SnapshotLocation::Internal;
}

}  // namespace

ViewedDefinition viewed(drivers::SnapshotDefinition definition) {
  return ViewedDefinition{std::move(definition.parent),    std::move(definition.state),
                          definition.creationTime,         std::move(definition.memory),
                          std::move(definition.disks),     definition.location,
                          definitionDigest(definition.xml)};
}

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
  std::map<std::string, ViewedDefinition, std::less<>> definitions;
  for (drivers::SnapshotDefinition& definition : *fetched) {
    std::string name = definition.name;
    definitions.emplace(std::move(name), viewed(std::move(definition)));
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
  TreePositions positions = positionsOf(tree);
  ViewChange change;
  change.changed = changedPositions(view.positions, positions);
  change.definitionsFetched = stale.size();
  view.loaded = true;
  view.refreshedAt = clock_->now();
  view.tree = std::move(tree);
  view.definitions = std::move(definitions);
  view.positions = std::move(positions);
  return stamped(view, std::move(change));
}

Expected<ViewChange, drivers::DriverError> HypervisorViews::refreshIfOlder(Access& access,
                                                                           std::chrono::nanoseconds maxAge) {
  if (access.view().loaded && clock_->now() - access.view().refreshedAt < maxAge) {
    return ViewChange{};
  }
  return refresh(access);
}

Expected<ViewChange, drivers::DriverError> HypervisorViews::relist(Access& access) {
  auto refreshed = refresh(access);
  if (!refreshed) {
    access.view().loaded = false;  // libvirt acted and the view may not show it: its next user lists
  }
  return refreshed;
}

bool HypervisorViews::refetch(Access& access, const std::set<std::string, std::less<>>& names) {
  if (names.empty()) {
    return true;  // no call at all (the metered driver would count an empty one)
  }
  DomainView& view = access.view();
  auto fetched =
      driver_.describeSnapshots(access.domain(), std::vector<std::string>(names.begin(), names.end()));
  if (!fetched) {
    return false;
  }
  for (const drivers::SnapshotDefinition& definition : *fetched) {
    if (definition.parent != view.tree.parentOf(definition.name)) {
      return false;  // moved outside virtsnap meanwhile
    }
  }
  for (drivers::SnapshotDefinition& definition : *fetched) {
    std::string key = definition.name;
    view.definitions.insert_or_assign(std::move(key), viewed(std::move(definition)));
  }
  return true;
}

Expected<ViewChange, drivers::DriverError> HypervisorViews::applyCreated(
    Access& access, drivers::SnapshotDefinition created) {
  DomainView& view = access.view();
  const std::optional<std::string> previousCurrent = view.tree.current();
  // libvirt makes a new snapshot the child of its current one: if that is not the current snapshot
  // the view knows, the tree changed outside virtsnap since the view's last look.
  if (!view.loaded || view.tree.contains(created.name) || created.parent != previousCurrent ||
      !view.tree.create(created.record())) {
    return relist(access);
  }
  const std::string name = created.name;
  view.definitions.insert_or_assign(name, viewed(std::move(created)));
  // libvirt rewrites the former current snapshot's XML when it is external (QEMU drops the revert
  // overlays it recorded); an internal one's XML holds nothing a create changes.
  std::set<std::string, std::less<>> stale;
  if (previousCurrent && !isInternal(view, *previousCurrent)) {
    stale.insert(*previousCurrent);
  }
  if (!refetch(access, stale)) {
    return relist(access);
  }
  ViewChange change;
  change.definitionsFetched = stale.size();
  change.changed =
      updatePositions(view.positions, view.tree, touchedByCreate(view.tree, name, previousCurrent));
  return stamped(view, std::move(change));
}

Expected<ViewChange, drivers::DriverError> HypervisorViews::applyDeleted(Access& access,
                                                                         const std::string& name,
                                                                         drivers::DeleteOptions options) {
  DomainView& view = access.view();
  if (!view.loaded || !view.tree.contains(name)) {
    return relist(access);
  }
  const std::optional<std::string> previousCurrent = view.tree.current();
  const std::optional<std::string> childrenChanged =
      options.scope == drivers::DeleteScope::ChildrenOnly ? std::optional(name) : view.tree.parentOf(name);
  auto outcome = view.tree.remove(name, options);
  if (!outcome) {
    return relist(access);  // libvirt did what the view's tree forbids: the view was behind
  }
  // From here the tree is ahead of the positions and definitions; any disagreement lists.
  // libvirt's current snapshot must be the one the model moved to (a revert made outside virtsnap
  // since the last poll would not show in any definition).
  auto current = driver_.currentSnapshot(access.domain());
  if (!current || *current != outcome->current) {
    return relist(access);
  }
  // libvirt rewrites the XML of the snapshots whose neighbourhood moved: a reparented one's <parent>,
  // and around an external snapshot the disks it merged (the ones a refresh would fetch again). An
  // internal snapshot's deletion changes no other internal one's XML but a child's <parent>.
  std::set<std::string, std::less<>> stale(outcome->reparented.begin(), outcome->reparented.end());
  // Every snapshot removed (a subtree with the Children scopes), while the view still holds them.
  const bool removedOnlyInternal =
      std::all_of(outcome->removed.begin(), outcome->removed.end(),
                  [&](const std::string& removed) { return isInternal(view, removed); });
  std::vector<std::optional<std::string>> moved{childrenChanged};
  if (previousCurrent != outcome->current) {
    moved.push_back(previousCurrent);
    moved.push_back(outcome->current);
  }
  for (const std::optional<std::string>& neighbour : moved) {
    if (neighbour && view.tree.contains(*neighbour) &&
        !(removedOnlyInternal && isInternal(view, *neighbour))) {
      stale.insert(*neighbour);
    }
  }
  for (const std::string& removed : outcome->removed) {
    view.definitions.erase(removed);
  }
  if (!refetch(access, stale)) {
    return relist(access);
  }
  ViewChange change;
  change.definitionsFetched = stale.size();
  change.changed = updatePositions(view.positions, view.tree,
                                   touchedByDelete(view.tree, *outcome, childrenChanged, previousCurrent));
  return stamped(view, std::move(change));
}

Expected<drivers::SnapshotDefinition, drivers::DriverError> HypervisorViews::describe(
    Access& access, const std::string& name) {
  auto fetched = driver_.describeSnapshots(access.domain(), {name});
  if (!fetched) {
    return unexpected(fetched.error());
  }
  if (fetched->size() != 1 || fetched->front().name != name) {
    return unexpected(drivers::DriverError{
        drivers::DriverErrorKind::Internal, 0,
        "libvirt described " + std::to_string(fetched->size()) + " snapshots for " + name, std::nullopt});
  }
  drivers::SnapshotDefinition definition = std::move(fetched->front());
  DomainView& view = access.view();
  const std::optional<drivers::SnapshotRecord> node = view.tree.find(name);
  if (node && definition.parent == node->parent) {
    view.definitions.insert_or_assign(name, viewed(definition));
    if (definition.location != node->location) {
      // Made again elsewhere (internal <-> external) outside virtsnap: the tree's rules for it
      // changed, so its next user lists (not now: callers hold references into the view).
      view.loaded = false;
    }
  }
  return definition;
}

ViewChange HypervisorViews::stamped(DomainView& view, ViewChange change) const {
  if (change.treeChanged()) {
    view.changedAt = clock_->now();
  }
  return change;
}

ViewChange HypervisorViews::forget(Access& access) {
  DomainView& view = access.view();
  ViewChange change;
  change.changed = changedPositions(view.positions, {});
  view.tree.clear();
  view.definitions.clear();
  view.positions.clear();
  view.loaded = false;
  return stamped(view, std::move(change));
}

}  // namespace virtsnap::reconcilers
