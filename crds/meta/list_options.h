#pragma once
// metav1.ListOptions as client and server both read it: what a list or a watch asks for.

#include <cstdint>
#include <optional>
#include <string>

namespace virtsnap::meta {

struct ListOptions {
  std::string labelSelector;  // =, ==, !=, in (...), notin (...), key, !key; comma-separated
  std::string fieldSelector;  // metadata.name, metadata.namespace and the type's selectable fields
  std::int64_t limit = 0;     // 0: no paging
  std::string continueToken;
  std::string resourceVersion;       // list: "" (most recent), "0" (any); watch: where to resume
  std::string resourceVersionMatch;  // NotOlderThan | Exact, with resourceVersion
  bool allowWatchBookmarks = false;
  std::optional<int> timeoutSeconds;  // watch: the server ends the stream after this long
};

}  // namespace virtsnap::meta
