#pragma once
// The process's Logger (base/logger.h) on spdlog: one line per call with a UTC timestamp to the
// millisecond, the level and the component, as text for people or as one JSON object a line for log
// collectors. Only the binaries link this; library code logs through base/logger.h.

#include <memory>
#include <optional>
#include <ostream>
#include <string_view>

#include "base/logger.h"

namespace virtsnap::logging {

enum class LogFormat { Text, Json };

// "text" or "json"; nullopt for anything else.
std::optional<LogFormat> parseLogFormat(std::string_view name);

struct LogOptions {
  LogLevel level = LogLevel::Info;  // lines below it are dropped
  LogFormat format = LogFormat::Text;
};

class SpdlogLogger final : public Logger {
 public:
  // Writes to standard error.
  explicit SpdlogLogger(LogOptions options);
  // Writes to `out`, which must outlive the logger.
  SpdlogLogger(LogOptions options, std::ostream& out);
  ~SpdlogLogger() override;
  SpdlogLogger(const SpdlogLogger&) = delete;
  SpdlogLogger& operator=(const SpdlogLogger&) = delete;

  bool enabled(LogLevel level) const override;
  void log(LogLevel level, std::string_view component, std::string_view message) override;

 private:
  struct Backend;
  std::unique_ptr<Backend> backend_;
  LogFormat format_;
};

// Installs a SpdlogLogger on standard error as the process's logger (what every binary does first).
void installProcessLogger(LogOptions options);

}  // namespace virtsnap::logging
