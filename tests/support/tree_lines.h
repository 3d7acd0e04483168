#pragma once
// A snapshot tree as comparable text, one "name<parent>" per snapshot in topological order with '*' on
// the current one: from the tree model (libvirt's listing or a test's model) and from a Domain's status,
// so the agent tests compare the two and print both on a difference.

#include <string>
#include <vector>

#include "crds/domain.h"
#include "drivers/snapshot_tree.h"

namespace virtsnap::testsupport {

inline std::vector<std::string> treeLines(const drivers::SnapshotTree& tree) {
  std::vector<std::string> out;
  const auto current = tree.current();
  tree.forEachTopological([&](const drivers::SnapshotRecord& record, std::size_t) {
    out.push_back(record.name + "<" + record.parent.value_or("") + ">" + (current == record.name ? "*" : ""));
  });
  return out;
}

inline std::vector<std::string> treeLines(const crds::DomainStatus& status) {
  std::vector<std::string> out;
  for (const auto& entry : status.snapshotTree.value_or(std::vector<crds::SnapshotTreeEntry>{})) {
    out.push_back(entry.name + "<" + entry.parent.value_or("") + ">" +
                  (entry.current.value_or(false) ? "*" : ""));
  }
  return out;
}

// The parts, each followed by a space.
inline std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    out += part + " ";
  }
  return out;
}

}  // namespace virtsnap::testsupport
