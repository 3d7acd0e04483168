#include "base/logger.h"

#include <array>
#include <cstdio>
#include <mutex>
#include <utility>

namespace virtsnap {

namespace {

constexpr std::array<std::pair<LogLevel, std::string_view>, 4> kLevelNames{{
    {LogLevel::Debug, "debug"},
    {LogLevel::Info, "info"},
    {LogLevel::Warning, "warning"},
    {LogLevel::Error, "error"},
}};

// The default until a binary installs its own: info and above, one line per call on stderr.
class StderrLogger final : public Logger {
 public:
  bool enabled(LogLevel level) const override { return level >= LogLevel::Info; }
  void log(LogLevel level, std::string_view component, std::string_view message) override {
    std::lock_guard lock(mutex_);
    std::fprintf(stderr, "%.*s %.*s: %.*s\n", static_cast<int>(logLevelName(level).size()),
                 logLevelName(level).data(), static_cast<int>(component.size()), component.data(),
                 static_cast<int>(message.size()), message.data());
  }

 private:
  std::mutex mutex_;  // keeps lines whole
};

std::mutex installMutex;  // guards installed
LoggerPtr installed;

LoggerPtr current() {
  std::lock_guard lock(installMutex);
  if (!installed) {
    installed = std::make_shared<StderrLogger>();
  }
  return installed;
}

}  // namespace

std::string_view logLevelName(LogLevel level) {
  for (const auto& [candidate, name] : kLevelNames) {
    if (candidate == level) {
      return name;
    }
  }
  return "info";
}

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  if (name == "warn") {
    return LogLevel::Warning;
  }
  for (const auto& [level, candidate] : kLevelNames) {
    if (candidate == name) {
      return level;
    }
  }
  return std::nullopt;
}

LoggerPtr processLogger() {
  return current();
}

void setProcessLogger(LoggerPtr logger) {
  std::lock_guard lock(installMutex);
  installed = std::move(logger);
}

void logLine(LogLevel level, std::string_view component, std::string_view message) {
  LoggerPtr logger = current();
  if (logger->enabled(level)) {
    logger->log(level, component, message);
  }
}

}  // namespace virtsnap
