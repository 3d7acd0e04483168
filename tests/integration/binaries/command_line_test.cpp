// The built binaries' command lines (CLI11, controller/command_line.h): a bad value or an unknown flag
// is a clear message and exit status 2, --help exits 0, and --log-level/--log-format reach the
// process's logger.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

using testsupport::runShell;
using testsupport::ShellResult;

ShellResult apiserver(const std::string& arguments) {
  return runShell(std::string("'") + VIRTSNAP_APISERVER_BINARY + "' " + arguments);
}

ShellResult treeDemo(const std::string& arguments) {
  return runShell(std::string("'") + VIRTSNAP_TREE_DEMO_BINARY + "' " + arguments);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ApiserverCommandLine, APortThatIsNotANumberIsAUsageError) {
  const ShellResult result = apiserver("--port abc");
  EXPECT_EQ(result.exitCode, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "--port: 'abc' is not an integer")) << result.output;
  EXPECT_TRUE(contains(result.output, "Run with --help for more information.")) << result.output;
  EXPECT_FALSE(contains(result.output, "terminate called")) << result.output;
}

TEST(ApiserverCommandLine, APortOutOfRangeIsAUsageError) {
  const ShellResult result = apiserver("--port 70000");
  EXPECT_EQ(result.exitCode, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "--port: 70000 is not in 0..65535")) << result.output;
  EXPECT_EQ(apiserver("--port 99999999999999999999").exitCode, 2);
  EXPECT_EQ(apiserver("--port").exitCode, 2);
}

TEST(ApiserverCommandLine, AnUnknownFlagIsAUsageError) {
  const ShellResult result = apiserver("--bogus 1");
  EXPECT_EQ(result.exitCode, 2) << result.output;
  EXPECT_TRUE(contains(result.output, "--bogus")) << result.output;
}

TEST(ApiserverCommandLine, HelpListsTheFlagsAndExitsZero) {
  const ShellResult result = apiserver("--help");
  EXPECT_EQ(result.exitCode, 0) << result.output;
  for (const char* flag : {"Usage: virtsnap-apiserver", "--crd-dir", "--data-dir", "--kubeconfig",
                           "--address", "--port", "--log-level", "--log-format"}) {
    EXPECT_TRUE(contains(result.output, flag)) << flag << " in:\n" << result.output;
  }
}

TEST(ApiserverCommandLine, ABadLogLevelOrFormatIsAUsageError) {
  const ShellResult level = apiserver("--log-level loud");
  EXPECT_EQ(level.exitCode, 2) << level.output;
  EXPECT_TRUE(contains(level.output, "--log-level: loud not in")) << level.output;
  EXPECT_EQ(apiserver("--log-format xml").exitCode, 2);
}

TEST(ApiserverCommandLine, AStartupFailureIsLoggedInTheChosenFormat) {
  const ShellResult result = apiserver("--crd-dir /nonexistent/virtsnap-crds --log-format json");
  EXPECT_EQ(result.exitCode, 1) << result.output;
  const auto line = nlohmann::json::parse(result.output, nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << result.output;
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["component"], "apiserver");
  EXPECT_TRUE(contains(line["msg"].get<std::string>(), "/nonexistent/virtsnap-crds")) << result.output;
  EXPECT_TRUE(line.contains("time"));
  // --log-level error still shows it; nothing is printed above the error.
  const ShellResult text = apiserver("--crd-dir /nonexistent/virtsnap-crds --log-level error");
  EXPECT_EQ(text.exitCode, 1);
  EXPECT_TRUE(contains(text.output, " error apiserver: ")) << text.output;
}

TEST(TreeDemoCommandLine, BadValuesAndUnknownFlagsAreUsageErrors) {
  const ShellResult steps = treeDemo("--random-steps -3");
  EXPECT_EQ(steps.exitCode, 2) << steps.output;
  EXPECT_TRUE(contains(steps.output, "--random-steps: -3 is not in 0..")) << steps.output;
  const ShellResult seed = treeDemo("--seed x");
  EXPECT_EQ(seed.exitCode, 2) << seed.output;
  EXPECT_TRUE(contains(seed.output, "--seed: 'x' is not an integer")) << seed.output;
  const ShellResult unknown = treeDemo("--port 1");
  EXPECT_EQ(unknown.exitCode, 2) << unknown.output;
  EXPECT_TRUE(contains(unknown.output, "--port")) << unknown.output;
}

TEST(TreeDemoCommandLine, HelpExitsZero) {
  const ShellResult result = treeDemo("--help");
  EXPECT_EQ(result.exitCode, 0) << result.output;
  for (const char* flag : {"Usage: virtsnap-tree-demo", "--uri", "--domain", "--random-steps", "--seed",
                           "--log-level", "--log-format"}) {
    EXPECT_TRUE(contains(result.output, flag)) << flag << " in:\n" << result.output;
  }
}

TEST(TreeDemoCommandLine, AConnectionFailureIsLoggedAsJson) {
  const ShellResult result = treeDemo("--uri test:///nonexistent/virtsnap.xml --log-format json");
  EXPECT_EQ(result.exitCode, 1) << result.output;
  const auto line = nlohmann::json::parse(result.output, nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << result.output;
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["component"], "tree-demo");
  EXPECT_TRUE(contains(line["msg"].get<std::string>(), "test:///nonexistent/virtsnap.xml")) << result.output;
}

}  // namespace
}  // namespace virtsnap
