#pragma once
// One event of a watch stream (metav1.WatchEvent), as the server sends it and the client reads it.

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace virtsnap::meta {

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

// "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR".
std::string_view watchEventTypeName(WatchEventType type);
std::optional<WatchEventType> parseWatchEventType(std::string_view name);

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  nlohmann::json object;  // the object; for Error, the metav1.Status
};

}  // namespace virtsnap::meta
