#include "controller/apiserver/cel/regex.h"

#include <mutex>
#include <unordered_map>

#include <re2/re2.h>

namespace virtsnap::apiserver::cel {

namespace {

constexpr std::size_t kMaxCached = 1024;

std::mutex cacheMutex;  // guards cache
std::unordered_map<std::string, Expected<std::shared_ptr<const re2::RE2>, std::string>> cache;

RE2::Options regexOptions() {
  RE2::Options options;           // UTF-8, Perl classes, leftmost-first: Go's regexp defaults
  options.set_log_errors(false);  // the error is returned to the caller, not written to stderr
  return options;
}

}  // namespace

Expected<std::shared_ptr<const re2::RE2>, std::string> compileRegex(const std::string& pattern) {
  using Result = Expected<std::shared_ptr<const re2::RE2>, std::string>;
  {
    std::lock_guard lock(cacheMutex);
    auto it = cache.find(pattern);
    if (it != cache.end()) {
      return it->second;
    }
  }
  auto compiled = std::make_shared<const re2::RE2>(pattern, regexOptions());
  Result result =
      compiled->ok() ? Result(std::shared_ptr<const re2::RE2>(compiled)) : Result(compiled->error());
  std::lock_guard lock(cacheMutex);
  if (cache.size() >= kMaxCached) {  // patterns can come from data (matches(self.x)); keep the cache bounded
    cache.clear();
  }
  cache.emplace(pattern, result);
  return result;
}

bool regexSearch(const re2::RE2& regex, std::string_view text) {
  return RE2::PartialMatch(text, regex);
}

std::size_t cachedRegexCount() {
  std::lock_guard lock(cacheMutex);
  return cache.size();
}

}  // namespace virtsnap::apiserver::cel
