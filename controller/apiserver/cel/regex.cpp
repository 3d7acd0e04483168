#include "controller/apiserver/cel/regex.h"

#include <mutex>
#include <unordered_map>

namespace virtsnap::apiserver::cel {

namespace {

constexpr std::size_t kMaxPatternLength = 4096;  // compiling std::regex recurses over the pattern
constexpr std::size_t kMaxCached = 1024;

std::regex::flag_type regexFlags() {
#if defined(__GLIBCXX__)
  return std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
  return std::regex::ECMAScript;
#endif
}

}  // namespace

Expected<std::shared_ptr<const std::regex>, std::string> compileRegex(const std::string& pattern) {
  using Result = Expected<std::shared_ptr<const std::regex>, std::string>;
  static std::mutex mutex;
  static std::unordered_map<std::string, Result> cache;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(pattern);
    if (it != cache.end()) {
      return it->second;
    }
  }
  Result result = std::string("pattern is too long");
  if (pattern.size() <= kMaxPatternLength) {
    try {
      result = std::shared_ptr<const std::regex>(std::make_shared<std::regex>(pattern, regexFlags()));
    } catch (const std::regex_error& e) {
      result = std::string(e.what());
    }
  }
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCached) {  // patterns can come from data (matches(self.x)); keep the cache bounded
    cache.clear();
  }
  cache.emplace(pattern, result);
  return result;
}

bool regexSearch(const std::regex& regex, const std::string& text) {
  try {
    return std::regex_search(text, regex);
  } catch (const std::regex_error&) {  // error_complexity / error_stack from the library's own limits
    return false;
  }
}

}  // namespace virtsnap::apiserver::cel
