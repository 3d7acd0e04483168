#pragma once
// What every binary's command line shares, on CLI11: --log-level and --log-format for the process's
// logger, and one way out of parsing (--help prints and exits 0; a bad or unknown flag prints CLI11's
// message and exits 2, the usage-error status of getopt tools).

#include <charconv>
#include <optional>
#include <string>
#include <system_error>

#include <CLI/CLI.hpp>

#include "controller/logging/spdlog_logger.h"

namespace virtsnap {

constexpr int kUsageError = 2;

inline void addLogFlags(CLI::App& app, logging::LogOptions& options) {
  app.add_option_function<std::string>(
         "--log-level", [&options](const std::string& name) { options.level = *parseLogLevel(name); },
         "Lowest level written: debug, info, warning or error (default info)")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));
  app.add_option_function<std::string>(
         "--log-format",
         [&options](const std::string& name) { options.format = *logging::parseLogFormat(name); },
         "text (default) or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
}

// An integer in [low, high], with a message that says which of the two it is not (CLI11's own Range
// calls "abc" out of range, and Number reads it as a float).
inline CLI::Validator integerIn(long long low, long long high) {
  const std::string range = std::to_string(low) + ".." + std::to_string(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        long long value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error == std::errc::invalid_argument || stop != end) {
          return "'" + text + "' is not an integer";
        }
        if (error == std::errc::result_out_of_range || value < low || value > high) {
          return text + " is not in " + range;
        }
        return {};
      },
      "INT in " + range);
}

// Parses the command line into `app`'s options. nullopt: go on; otherwise the status to exit with.
inline std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsageError;  // app.exit prints the help or the error
  }
}

}  // namespace virtsnap
