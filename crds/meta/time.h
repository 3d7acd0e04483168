#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace virtsnap::meta {

// metav1.Time on the wire: RFC 3339. The API keeps timestamps as the strings it received, so that
// they round-trip byte for byte; these functions convert at the edges.

// "2024-05-01T12:34:56Z": UTC, whole seconds, the form the API server writes.
std::string formatTime(std::chrono::system_clock::time_point time);

// Parses RFC 3339 with an optional fraction and a "Z" or "+hh:mm"/"-hh:mm" offset; nullopt for
// anything else (including impossible dates such as February 30).
std::optional<std::chrono::system_clock::time_point> parseTime(std::string_view text);

// metav1.MicroTime: "2006-01-02T15:04:05.000000Z" (UTC, microseconds); parseTime reads it back.
std::string formatMicroTime(std::chrono::system_clock::time_point time);

}  // namespace virtsnap::meta
