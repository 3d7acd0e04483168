#include "reconcilers/tree_positions.h"

#include <utility>

namespace virtsnap::reconcilers {

namespace {

std::optional<drivers::DeletionBlockReason> deletionBlocked(const drivers::SnapshotTree& tree,
                                                            std::string_view name) {
  auto block = tree.checkDeletion(name, drivers::DeleteOptions{});
  return block ? std::optional(block->reason) : std::nullopt;
}

TreePosition positionOf(const drivers::SnapshotTree& tree, const std::optional<std::string>& current,
                        const std::string& name, std::optional<std::string> parent, std::size_t depth) {
  TreePosition position;
  position.parent = std::move(parent);
  position.children = tree.childrenOf(name);
  position.current = current == name;
  position.depth = depth;
  position.deletionBlocked = deletionBlocked(tree, name);
  return position;
}

void insertIfPresent(TouchedPositions& touched, const drivers::SnapshotTree& tree,
                     const std::optional<std::string>& name) {
  if (name && tree.contains(*name)) {
    touched.insert(*name);
  }
}

}  // namespace

TreePositions positionsOf(const drivers::SnapshotTree& tree) {
  TreePositions positions;
  const std::optional<std::string> current = tree.current();
  tree.forEachTopological([&](const drivers::SnapshotRecord& record, std::size_t depth) {
    positions.emplace(record.name, positionOf(tree, current, record.name, record.parent, depth));
  });
  return positions;
}

std::set<std::string> changedPositions(const TreePositions& before, const TreePositions& after) {
  std::set<std::string> changed;
  for (const auto& [name, position] : before) {
    auto it = after.find(name);
    if (it == after.end() || !(it->second == position)) {
      changed.insert(name);
    }
  }
  for (const auto& [name, position] : after) {
    if (!before.contains(name)) {
      changed.insert(name);
    }
  }
  return changed;
}

TouchedPositions touchedByCreate(const drivers::SnapshotTree& after, std::string_view created,
                                 const std::optional<std::string>& previousCurrent) {
  TouchedPositions touched;
  touched.emplace(created);
  insertIfPresent(touched, after, after.parentOf(created));  // a child more
  insertIfPresent(touched, after, previousCurrent);          // current no more
  return touched;
}

TouchedPositions touchedByDelete(const drivers::SnapshotTree& after, const drivers::DeleteOutcome& outcome,
                                 const std::optional<std::string>& childrenChanged,
                                 const std::optional<std::string>& previousCurrent) {
  TouchedPositions touched(outcome.removed.begin(), outcome.removed.end());
  insertIfPresent(touched, after, childrenChanged);
  insertIfPresent(touched, after, previousCurrent);
  insertIfPresent(touched, after, outcome.current);
  for (const std::string& moved : outcome.reparented) {
    touched.insert(moved);  // a new parent, and everything below it one level up
    for (std::string& below : after.descendantsOf(moved)) {
      touched.insert(std::move(below));
    }
  }
  return touched;
}

std::set<std::string> updatePositions(TreePositions& positions, const drivers::SnapshotTree& tree,
                                      const TouchedPositions& touched) {
  if (touched.size() * 4 > tree.size()) {
    TreePositions fresh = positionsOf(tree);  // one walk beats many lookups
    std::set<std::string> changed = changedPositions(positions, fresh);
    positions = std::move(fresh);
    return changed;
  }
  const std::optional<std::string> current = tree.current();
  // Depths of touched snapshots, from the nearest untouched ancestor (whose depth did not change).
  std::map<std::string, std::size_t, std::less<>> depths;
  auto depthOf = [&](const std::string& name) {
    std::vector<std::string> unknown;  // name, then its ancestors whose depth is not known yet
    std::size_t top = 0;               // the depth of unknown.back()
    for (std::optional<std::string> at = name; at; at = tree.parentOf(*at)) {
      if (auto known = depths.find(*at); known != depths.end()) {
        top = known->second + 1;
        break;
      }
      if (!touched.contains(*at)) {
        if (auto held = positions.find(*at); held != positions.end()) {
          top = held->second.depth + 1;
          break;
        }
      }
      unknown.push_back(*at);
    }
    for (std::size_t i = unknown.size(); i-- > 0;) {
      depths.emplace(unknown[i], top + (unknown.size() - 1 - i));
    }
    return depths.at(name);
  };
  std::set<std::string> changed;
  for (const std::string& name : touched) {
    if (!tree.contains(name)) {
      if (positions.erase(name) > 0) {
        changed.insert(name);
      }
      continue;
    }
    TreePosition position = positionOf(tree, current, name, tree.parentOf(name), depthOf(name));
    auto held = positions.find(name);
    if (held == positions.end()) {
      positions.emplace(name, std::move(position));
      changed.insert(name);
    } else if (!(held->second == position)) {
      held->second = std::move(position);
      changed.insert(name);
    }
  }
  return changed;
}

}  // namespace virtsnap::reconcilers
