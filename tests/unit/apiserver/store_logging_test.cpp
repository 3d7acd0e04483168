// The object store logs through the process's Logger (base/logger.h), not on stderr of its own.

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "tests/support/recording_logger.h"
#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using virtsnap::testsupport::RecordingLogger;
using virtsnap::testsupport::ScopedProcessLogger;

class StoreLoggingTest : public testsupport::StoreTestBase {};

TEST_F(StoreLoggingTest, AFailedCompactionIsAWarningOnTheProcessLogger) {
  auto logger = std::make_shared<RecordingLogger>();
  ScopedProcessLogger installed(logger);
  StoreOptions options;
  options.compactAfterBytes = 1;  // every write compacts
  reopen(options);
  // The snapshot is written to a temporary file first; a directory in its place makes that fail.
  std::filesystem::create_directories(dir_.path() / "snapshot.db.tmp");
  auto created =
      store_->create(testsupport::widgetType(), "default", testsupport::widget("w"), WriteOptions{}, nullptr);
  ASSERT_TRUE(created.has_value()) << created.error().message;  // the write itself is durable in the log
  store_->waitForCompaction();  // the snapshot is written by a thread of its own
  const auto lines = logger->linesOf("apiserver");
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().level, LogLevel::Warning);
  EXPECT_NE(lines.back().message.find("log compaction failed (will retry)"), std::string::npos)
      << lines.back().message;
  EXPECT_NE(lines.back().message.find("snapshot.db.tmp"), std::string::npos) << lines.back().message;
}

TEST_F(StoreLoggingTest, ALoggerAboveWarningSeesNothing) {
  auto logger = std::make_shared<RecordingLogger>(LogLevel::Error);
  ScopedProcessLogger installed(logger);
  StoreOptions options;
  options.compactAfterBytes = 1;
  reopen(options);
  std::filesystem::create_directories(dir_.path() / "snapshot.db.tmp");
  ASSERT_TRUE(
      store_->create(testsupport::widgetType(), "default", testsupport::widget("w"), WriteOptions{}, nullptr)
          .has_value());
  store_->waitForCompaction();
  EXPECT_TRUE(logger->lines().empty());
}

}  // namespace
}  // namespace virtsnap::apiserver
