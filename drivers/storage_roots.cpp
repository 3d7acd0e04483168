#include "drivers/storage_roots.h"

#include <algorithm>

namespace virtsnap::drivers {

namespace fs = std::filesystem;

namespace {

DriverError refused(const std::string& path, const std::string& why) {
  return DriverError{DriverErrorKind::Invalid, 0, "disk path '" + path + "' is refused: " + why, {}};
}

// Resolves symlinks in every existing prefix; the rest is kept lexically (it will be created).
fs::path resolved(const fs::path& path) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : out;
}

bool isUnder(const fs::path& path, const fs::path& root) {
  auto [rootEnd, pathIt] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  // The root's trailing empty element (from a trailing slash) matches anything.
  return rootEnd == root.end() || (std::next(rootEnd) == root.end() && rootEnd->empty());
}

}  // namespace

StorageRoots::StorageRoots(std::vector<fs::path> roots) {
  for (const auto& root : roots) {
    roots_.push_back(resolved(root));
  }
}

Expected<fs::path, DriverError> StorageRoots::confine(const std::string& path) const {
  if (path.empty()) {
    return refused(path, "it is empty");
  }
  if (path.find('\0') != std::string::npos) {
    return refused(path, "it contains a NUL byte");
  }
  const fs::path given(path);
  if (!given.is_absolute()) {
    return refused(path, "it is not absolute");
  }
  for (const auto& part : given) {
    if (part == "..") {
      return refused(path, "it contains '..'");
    }
  }
  const fs::path real = resolved(given);
  for (const auto& root : roots_) {
    if (isUnder(real, root) && real != root) {
      return real;
    }
  }
  std::string allowed;
  for (const auto& root : roots_) {
    allowed += (allowed.empty() ? "" : ", ") + root.string();
  }
  return refused(
      path,
      (real == given.lexically_normal() ? "it is" : "it resolves to '" + real.string() + "', which is") +
          std::string(" outside the allowed storage roots (") +
          (allowed.empty() ? "none configured" : allowed) + ")");
}

}  // namespace virtsnap::drivers
