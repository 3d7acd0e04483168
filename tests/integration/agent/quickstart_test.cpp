// README command 1 the way a new user runs it: scripts/run.sh on a fresh data directory prints the
// quick start's objects and its tree; run again on the same directory, everything is back.

#include <filesystem>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kTree =
    "The tree of quickstart/demo (current marked *):\n"
    "a-installed\n"
    "  b-configured\n"
    "    c-tested\n"
    "    d-experiment *\n";

TEST(QuickStart, RunShPrintsTheTreeAndFindsItAgainOnTheNextRun) {
  std::random_device random;
  const fs::path data = fs::temp_directory_path() /
                        ("virtsnap-quickstart-" + std::to_string(random()) + std::to_string(random()));
  const std::string command = "VIRTSNAP_DATA_DIR='" + data.string() + "' bash '" + VIRTSNAP_SOURCE_DIR +
                              "/scripts/run.sh' --exit 2>&1";
  const testsupport::ShellResult first = testsupport::runShell(command);
  ASSERT_EQ(first.exitCode, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr(kTree));
  EXPECT_THAT(first.output,
              HasSubstr("snapshot.virtsnap.io/d-experiment   demo     b-configured   true      Ready"));
  EXPECT_THAT(first.output, HasSubstr("export KUBECONFIG=" + data.string() + "/kubeconfig"));

  const testsupport::ShellResult second = testsupport::runShell(command);
  ASSERT_EQ(second.exitCode, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr(kTree));
  EXPECT_THAT(second.output, HasSubstr("snapshot.virtsnap.io/c-tested unchanged"));
  std::error_code ignored;
  fs::remove_all(data, ignored);
}

}  // namespace
}  // namespace virtsnap
