#pragma once
// The directories the agent may put or find disk images in. A path is accepted only when it is
// absolute, has no `..` component, and still lies under a root after every symlink in it (and in the
// root) is resolved, so neither `..` nor a symlink can lead outside.

#include <filesystem>
#include <string>
#include <vector>

#include "base/expected.h"
#include "drivers/driver_error.h"

namespace virtsnap::drivers {

class StorageRoots {
 public:
  explicit StorageRoots(std::vector<std::filesystem::path> roots);

  // The resolved path when `path` is confined to a root; an Invalid error saying why otherwise.
  Expected<std::filesystem::path, DriverError> confine(const std::string& path) const;
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

 private:
  std::vector<std::filesystem::path> roots_;  // resolved
};

}  // namespace virtsnap::drivers
