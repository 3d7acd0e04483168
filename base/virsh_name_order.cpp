#include "base/virsh_name_order.h"

#include <algorithm>
#include <cctype>

namespace virtsnap {

bool virshNameLess(std::string_view a, std::string_view b) {
  const auto lowerLess = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  };
  const bool less = std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), lowerLess);
  const bool greater = std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end(), lowerLess);
  return less || (!greater && a < b);
}

}  // namespace virtsnap
