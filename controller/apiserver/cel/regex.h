#pragma once
// Regular expressions for CEL's matches() and the schema's `pattern`, compiled once per pattern text.
// Kubernetes speaks RE2 (Go's regexp): UTF-8 text, Perl classes and flags such as (?i), (?P<name>...)
// and \pL, and matching in time linear in the input. RE2 itself is used, so both agree.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/expected.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace virtsnap::apiserver::cel {

// The compiled pattern, or RE2's reason it does not compile ("missing ): (").
Expected<std::shared_ptr<const re2::RE2>, std::string> compileRegex(const std::string& pattern);

// Whether `pattern` matches somewhere in `text` (a partial match, as CEL and OpenAPI use it).
bool regexSearch(const re2::RE2& regex, std::string_view text);

// How many compiled patterns the cache holds now (it never holds more than a fixed bound).
std::size_t cachedRegexCount();

}  // namespace virtsnap::apiserver::cel
