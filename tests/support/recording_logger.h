#pragma once
// A Logger that keeps what it is given, for tests that check what library code logs; and a guard that
// installs one as the process's logger for the length of a test.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/logger.h"

namespace virtsnap::testsupport {

struct LoggedLine {
  LogLevel level = LogLevel::Info;
  std::string component;
  std::string message;
};

class RecordingLogger final : public Logger {
 public:
  explicit RecordingLogger(LogLevel threshold = LogLevel::Debug) : threshold_(threshold) {}

  bool enabled(LogLevel level) const override { return level >= threshold_; }
  void log(LogLevel level, std::string_view component, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back({level, std::string(component), std::string(message)});
  }

  std::vector<LoggedLine> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  // The lines of one component, in order.
  std::vector<LoggedLine> linesOf(std::string_view component) const {
    std::vector<LoggedLine> out;
    for (LoggedLine& line : lines()) {
      if (line.component == component) {
        out.push_back(std::move(line));
      }
    }
    return out;
  }

 private:
  const LogLevel threshold_;
  mutable std::mutex mutex_;  // guards lines_
  std::vector<LoggedLine> lines_;
};

// Installs `logger` as the process's logger; the destructor restores the default.
class ScopedProcessLogger {
 public:
  explicit ScopedProcessLogger(std::shared_ptr<Logger> logger) { setProcessLogger(std::move(logger)); }
  ~ScopedProcessLogger() { setProcessLogger(nullptr); }
  ScopedProcessLogger(const ScopedProcessLogger&) = delete;
  ScopedProcessLogger& operator=(const ScopedProcessLogger&) = delete;
};

}  // namespace virtsnap::testsupport
