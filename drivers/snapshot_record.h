#pragma once
// What the tree model knows of one snapshot: its name, its recorded parent and where its data lives.

#include <optional>
#include <string>

namespace virtsnap::drivers {

enum class SnapshotLocation { Internal, External };

struct SnapshotRecord {
  std::string name;
  std::optional<std::string> parent;  // nullopt: a root
  SnapshotLocation location = SnapshotLocation::Internal;

  bool operator==(const SnapshotRecord&) const = default;
};

}  // namespace virtsnap::drivers
