// libvirt's error codes and messages become typed DriverError values.

#include "drivers/libvirt/libvirt_error.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tests/support/driver_printers.h"
#include "tests/support/recording_logger.h"

namespace virtsnap::drivers::libvirt {
namespace {

TEST(LibvirtError, UnsupportedFlagsOfTheTestDriverAreUnsupported) {
  auto e = classifyLibvirtError(
      VIR_ERR_INVALID_ARG,
      "invalid argument: unsupported flags (0x10) in function testDomainSnapshotCreateXML",
      "creating snapshot 'x'");
  EXPECT_EQ(e.kind, DriverErrorKind::Unsupported);
  EXPECT_EQ(e.code, VIR_ERR_INVALID_ARG);
  EXPECT_EQ(e.message.rfind("creating snapshot 'x': ", 0), 0u);
  EXPECT_FALSE(e.retryable());
}

TEST(LibvirtError, MissingObjectsAreNotFound) {
  EXPECT_EQ(classifyLibvirtError(VIR_ERR_NO_DOMAIN, "no domain", "x").kind, DriverErrorKind::NotFound);
  EXPECT_EQ(classifyLibvirtError(VIR_ERR_NO_DOMAIN_SNAPSHOT, "no snapshot", "x").kind,
            DriverErrorKind::NotFound);
}

TEST(LibvirtError, LostConnectionsAreTransientAndRetryable) {
  for (int code : {VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC, VIR_ERR_NO_CONNECT, VIR_ERR_OPERATION_TIMEOUT}) {
    auto e = classifyLibvirtError(code, "gone", "x");
    EXPECT_EQ(e.kind, DriverErrorKind::Transient) << code;
    EXPECT_TRUE(e.retryable());
  }
}

// The texts are libvirt's own (src/qemu/qemu_snapshot.c); each maps to the tree model's reason.
TEST(LibvirtError, ExternalDeletionRefusalsMapToTheTreeModelsReasons) {
  struct Case {
    const char* message;
    DeletionBlockReason reason;
  };
  const Case cases[] = {
      {"unsupported configuration: deletion of external disk snapshot with multiple children snapshots not "
       "supported",
       DeletionBlockReason::ExternalWithMultipleChildren},
      {"unsupported configuration: deletion of non-leaf external snapshot that is not in active chain is not "
       "supported",
       DeletionBlockReason::ExternalNotInActiveChain},
      {"unsupported configuration: deletion of active external snapshot that is not a leaf snapshot is not "
       "supported",
       DeletionBlockReason::ActiveExternalNotLeaf},
      {"unsupported configuration: deletion of external children disk snapshots not supported",
       DeletionBlockReason::ExternalDescendants},
      {"unsupported configuration: deletion of external and internal children disk snapshots not supported",
       DeletionBlockReason::ExternalDescendants},
      {"unsupported configuration: deletion of external disk snapshots with children not supported",
       DeletionBlockReason::ExternalDescendants},
      {"Operation not supported: deleting external snapshot that has internal snapshot as parent not "
       "supported",
       DeletionBlockReason::ExternalWithInternalParent},
      {"Operation not supported: disk image 'vda' for internal snapshot 'i1' is not the same as disk image "
       "currently used by VM",
       DeletionBlockReason::InternalNotInCurrentImage},
  };
  for (const Case& c : cases) {
    auto e = classifyLibvirtError(VIR_ERR_CONFIG_UNSUPPORTED, c.message, "deleting snapshot 's'");
    EXPECT_EQ(e.kind, DriverErrorKind::Refused) << c.message;
    ASSERT_TRUE(e.block.has_value()) << c.message;
    EXPECT_EQ(e.block->reason, c.reason) << c.message;
  }
}

// libvirt's own reports reach the process's logger, at debug level, instead of stderr.
TEST(LibvirtError, LibvirtsReportsGoToTheProcessLogger) {
  auto logger = std::make_shared<virtsnap::testsupport::RecordingLogger>();
  virtsnap::testsupport::ScopedProcessLogger installed(logger);
  silenceLibvirtErrorPrinting();
  virConnectPtr conn = virConnectOpen("test:///default");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(virDomainLookupByName(conn, "no-such-domain"), nullptr);
  virConnectClose(conn);
  const auto lines = logger->linesOf("libvirt");
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().level, LogLevel::Debug);
  EXPECT_THAT(lines.back().message, ::testing::HasSubstr("not found"));
}

// At the default level (info) they are filtered out: the caller logs the DriverError it gets.
TEST(LibvirtError, LibvirtsReportsAreBelowInfo) {
  auto logger = std::make_shared<virtsnap::testsupport::RecordingLogger>(LogLevel::Info);
  virtsnap::testsupport::ScopedProcessLogger installed(logger);
  silenceLibvirtErrorPrinting();
  virConnectPtr conn = virConnectOpen("test:///default");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(virDomainLookupByName(conn, "no-such-domain"), nullptr);
  virConnectClose(conn);
  EXPECT_TRUE(logger->lines().empty());
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
