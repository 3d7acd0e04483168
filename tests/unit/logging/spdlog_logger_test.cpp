// The spdlog-backed process logger (controller/logging/spdlog_logger.h): the text and JSON line
// formats with UTC timestamps, level filtering, and lines from library code reaching it once installed.

#include "controller/logging/spdlog_logger.h"

#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/recording_logger.h"

namespace virtsnap::logging {
namespace {

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

const std::regex kTimestamp(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

TEST(SpdlogLogger, TextLinesHaveTimestampLevelComponentAndMessage) {
  std::ostringstream out;
  SpdlogLogger logger({LogLevel::Info, LogFormat::Text}, out);
  logger.log(LogLevel::Warning, "apiserver", "log compaction failed");
  logger.log(LogLevel::Error, "controller/domain", "reconcile ns/a failed");
  const auto lines = linesOf(out.str());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  std::smatch match;
  ASSERT_TRUE(
      std::regex_match(lines[0], match, std::regex(R"((\S+) warning apiserver: log compaction failed)")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(match[1].str(), kTimestamp)) << lines[0];
  EXPECT_NE(lines[1].find(" error controller/domain: reconcile ns/a failed"), std::string::npos) << lines[1];
}

TEST(SpdlogLogger, JsonLinesAreOneObjectEach) {
  std::ostringstream out;
  SpdlogLogger logger({LogLevel::Debug, LogFormat::Json}, out);
  logger.log(LogLevel::Debug, "libvirt", "Domain not found: \"x\"\nsecond line {} %v");
  const auto lines = linesOf(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  const auto line = nlohmann::json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << lines[0];
  EXPECT_EQ(line["level"], "debug");
  EXPECT_EQ(line["component"], "libvirt");
  // Quotes, newlines, braces and percent signs come back exactly: the message is data, not a format.
  EXPECT_EQ(line["msg"], "Domain not found: \"x\"\nsecond line {} %v");
  EXPECT_TRUE(std::regex_match(line["time"].get<std::string>(), kTimestamp)) << lines[0];
}

TEST(SpdlogLogger, InvalidUtf8IsReplacedInJson) {
  std::ostringstream out;
  SpdlogLogger logger({LogLevel::Info, LogFormat::Json}, out);
  logger.log(LogLevel::Info, "apiserver", std::string("bad \xff byte"));
  const auto line = nlohmann::json::parse(linesOf(out.str()).at(0), nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << out.str();
  EXPECT_EQ(line["msg"], "bad \xEF\xBF\xBD byte");  // U+FFFD
}

TEST(SpdlogLogger, LinesBelowTheLevelAreDropped) {
  std::ostringstream out;
  SpdlogLogger logger({LogLevel::Warning, LogFormat::Text}, out);
  EXPECT_FALSE(logger.enabled(LogLevel::Debug));
  EXPECT_FALSE(logger.enabled(LogLevel::Info));
  EXPECT_TRUE(logger.enabled(LogLevel::Warning));
  EXPECT_TRUE(logger.enabled(LogLevel::Error));
  logger.log(LogLevel::Info, "apiserver", "dropped");
  logger.log(LogLevel::Error, "apiserver", "kept");
  const auto lines = linesOf(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_NE(lines[0].find("kept"), std::string::npos);
}

TEST(SpdlogLogger, InstalledAsTheProcessLoggerItReceivesLogLine) {
  std::ostringstream out;
  virtsnap::testsupport::ScopedProcessLogger installed(
      std::make_shared<SpdlogLogger>(LogOptions{LogLevel::Info, LogFormat::Text}, out));
  logLine(LogLevel::Debug, "libvirt", "below the level");
  logLine(LogLevel::Info, "apiserver", "serving");
  const auto lines = linesOf(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_NE(lines[0].find(" info apiserver: serving"), std::string::npos) << lines[0];
}

TEST(LogFormat, Names) {
  EXPECT_EQ(parseLogFormat("text"), LogFormat::Text);
  EXPECT_EQ(parseLogFormat("json"), LogFormat::Json);
  EXPECT_EQ(parseLogFormat("JSON"), std::nullopt);
  EXPECT_EQ(parseLogFormat(""), std::nullopt);
}

}  // namespace
}  // namespace virtsnap::logging
