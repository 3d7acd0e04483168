// A second real client that is not kubectl: the official Python client (Debian's python3-kubernetes,
// installed by scripts/setup.sh) runs tests/integration/apiserver/python_client.py against the
// embedded server's HTTPS endpoint and kubeconfig. The script prints "ok: <step>" per step.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/served_api.h"
#include "tests/support/shell_command.h"

namespace virtsnap::apiserver {
namespace {

using ::testing::HasSubstr;

class PythonClient : public testsupport::ServedApiTest {
 protected:
  void SetUp() override { serve(/*https=*/true); }
};

TEST_F(PythonClient, ListsWatchesWritesAndConflictsThroughTheClientsNormalApi) {
  const std::string script =
      std::string(VIRTSNAP_SOURCE_DIR) + "/tests/integration/apiserver/python_client.py";
  // The system interpreter: the Debian package is installed for it, whatever else PATH offers.
  const auto run =
      virtsnap::testsupport::runShell("/usr/bin/python3 " + script + " " + (dir_ / "kubeconfig").string());
  ASSERT_EQ(run.exitCode, 0) << run.output;
  for (const char* step : {"list namespaces", "create", "watch from a resourceVersion",
                           "update with a stale resourceVersion is 409", "patch status", "leases",
                           "events by field selector", "dry-run delete, then delete"}) {
    EXPECT_THAT(run.output, HasSubstr(std::string("ok: ") + step + "\n"));
  }
}

}  // namespace
}  // namespace virtsnap::apiserver
