#include "crds/meta/time.h"

#include <chrono>

#include <gtest/gtest.h>

namespace virtsnap::meta {
namespace {

using std::chrono::system_clock;

system_clock::time_point at(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return std::chrono::sys_days{std::chrono::year{y} / m / d} + std::chrono::hours{hh} +
         std::chrono::minutes{mm} + std::chrono::seconds{ss};
}

TEST(Timestamp, FormatsUtcWholeSeconds) {
  EXPECT_EQ(formatTime(at(2024, 5, 1, 12, 34, 56) + std::chrono::milliseconds{999}), "2024-05-01T12:34:56Z");
  EXPECT_EQ(formatTime(at(1999, 12, 31, 23, 59, 59)), "1999-12-31T23:59:59Z");
}

TEST(Timestamp, ParsesWhatItFormats) {
  const auto time = at(2030, 2, 28, 0, 0, 1);
  EXPECT_EQ(parseTime(formatTime(time)), time);
}

TEST(Timestamp, ParsesOffsetsAndFractions) {
  EXPECT_EQ(parseTime("2024-05-01T14:34:56+02:00"), at(2024, 5, 1, 12, 34, 56));
  EXPECT_EQ(parseTime("2024-05-01T12:34:56.5Z"), at(2024, 5, 1, 12, 34, 56) + std::chrono::milliseconds{500});
}

TEST(Timestamp, RejectsMalformedOrImpossibleTimes) {
  for (const char* text : {"", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00",
                           "2024-02-30T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00.Z",
                           "2024-05-01T12:00:00+0200", "2024-05-01T12:00:00Zjunk"}) {
    EXPECT_FALSE(parseTime(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace virtsnap::meta
