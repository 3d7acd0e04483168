#pragma once
// Logging, behind an interface so that layers log without knowing the backend: the binaries install
// one logger for the whole process (spdlog, with levels and timestamps; libvirt's messages go through
// it too), tests install a recording one. Until one is installed, lines go to stderr.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace virtsnap {

enum class LogLevel { Debug, Info, Warning, Error };

std::string_view logLevelName(LogLevel level);
// "debug", "info", "warning" (or "warn"), "error"; nullopt for anything else.
std::optional<LogLevel> parseLogLevel(std::string_view name);

class Logger {
 public:
  virtual ~Logger() = default;
  // Whether a line at `level` would be written (so callers can skip building it). Thread-safe.
  virtual bool enabled(LogLevel level) const = 0;
  // `component` names the part of the program ("apiserver", "libvirt", "controller/domain").
  // Thread-safe; lines are never interleaved.
  virtual void log(LogLevel level, std::string_view component, std::string_view message) = 0;
};

using LoggerPtr = std::shared_ptr<Logger>;

// The process's logger; never null.
LoggerPtr processLogger();
// Installs `logger` for the whole process (null restores the stderr default).
void setProcessLogger(LoggerPtr logger);
// Writes one line through the process's logger, if its level is enabled.
void logLine(LogLevel level, std::string_view component, std::string_view message);

}  // namespace virtsnap
