#include "controller/logging/spdlog_logger.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace virtsnap::logging {

namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
// %v is the rest of the object ("component":...,"msg":...), escaped by nlohmann.
constexpr const char* kJsonPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})";

spdlog::level::level_enum spdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return spdlog::level::debug;
    case LogLevel::Info:
      return spdlog::level::info;
    case LogLevel::Warning:
      return spdlog::level::warn;
    case LogLevel::Error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string jsonString(std::string_view text) {
  // Invalid UTF-8 (a path, a peer's bytes) is replaced rather than thrown on.
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

struct SpdlogLogger::Backend {
  Backend(LogOptions options, spdlog::sink_ptr sink) : logger("virtsnap", std::move(sink)) {
    logger.set_formatter(std::make_unique<spdlog::pattern_formatter>(
        options.format == LogFormat::Json ? kJsonPattern : kTextPattern, spdlog::pattern_time_type::utc));
    logger.set_level(spdlogLevel(options.level));
    logger.flush_on(spdlog::level::trace);  // a line is on its way before the call returns
  }
  spdlog::logger logger;
};

std::optional<LogFormat> parseLogFormat(std::string_view name) {
  if (name == "text") {
    return LogFormat::Text;
  }
  if (name == "json") {
    return LogFormat::Json;
  }
  return std::nullopt;
}

SpdlogLogger::SpdlogLogger(LogOptions options)
    : backend_(std::make_unique<Backend>(options, std::make_shared<spdlog::sinks::stderr_sink_mt>())),
      format_(options.format) {}

SpdlogLogger::SpdlogLogger(LogOptions options, std::ostream& out)
    : backend_(std::make_unique<Backend>(
          options, std::make_shared<spdlog::sinks::ostream_sink_mt>(out, /*force_flush=*/true))),
      format_(options.format) {}

SpdlogLogger::~SpdlogLogger() = default;

bool SpdlogLogger::enabled(LogLevel level) const {
  return backend_->logger.should_log(spdlogLevel(level));
}

void SpdlogLogger::log(LogLevel level, std::string_view component, std::string_view message) {
  std::string text;
  if (format_ == LogFormat::Json) {
    text = "\"component\":" + jsonString(component) + ",\"msg\":" + jsonString(message);
  } else {
    text.append(component).append(": ").append(message);
  }
  // The message is never a format string: braces in it are kept as they are.
  backend_->logger.log(spdlogLevel(level), spdlog::string_view_t(text.data(), text.size()));
}

void installProcessLogger(LogOptions options) {
  setProcessLogger(std::make_shared<SpdlogLogger>(options));
}

}  // namespace virtsnap::logging
