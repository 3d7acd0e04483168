#pragma once
// Regular expressions for CEL's matches() and the schema's `pattern`, compiled once per pattern text.
// Kubernetes speaks RE2; std::regex's ECMAScript grammar agrees on everything the CRDs use. libstdc++'s
// default matcher recurses once per input character and overflows the stack on long strings, so its
// polynomial (breadth-first) matcher is used: linear in the input like RE2, and no back-references.

#include <memory>
#include <regex>
#include <string>

#include "base/expected.h"

namespace virtsnap::apiserver::cel {

// The compiled pattern, or the reason it does not compile.
Expected<std::shared_ptr<const std::regex>, std::string> compileRegex(const std::string& pattern);

// Whether `pattern` matches somewhere in `text` (RE2's partial match, as CEL and OpenAPI use it).
bool regexSearch(const std::regex& regex, const std::string& text);

}  // namespace virtsnap::apiserver::cel
