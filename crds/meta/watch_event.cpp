#include "crds/meta/watch_event.h"

#include <array>
#include <utility>

namespace virtsnap::meta {

namespace {

constexpr std::array<std::pair<WatchEventType, std::string_view>, 5> kNames{{
    {WatchEventType::Added, "ADDED"},
    {WatchEventType::Modified, "MODIFIED"},
    {WatchEventType::Deleted, "DELETED"},
    {WatchEventType::Bookmark, "BOOKMARK"},
    {WatchEventType::Error, "ERROR"},
}};

}  // namespace

std::string_view watchEventTypeName(WatchEventType type) {
  for (const auto& [candidate, name] : kNames) {
    if (candidate == type) {
      return name;
    }
  }
  return "ERROR";
}

std::optional<WatchEventType> parseWatchEventType(std::string_view name) {
  for (const auto& [type, candidate] : kNames) {
    if (candidate == name) {
      return type;
    }
  }
  return std::nullopt;
}

}  // namespace virtsnap::meta
