#pragma once
// The order in which virsh lists snapshot names (snapshot-list, --tree): strcasecmp's, and among names
// equal but for case, byte order, so that the order is total. The kubectl plugin and the tree page
// both list snapshots as virsh does.

#include <string_view>

namespace virtsnap {

bool virshNameLess(std::string_view a, std::string_view b);

}  // namespace virtsnap
