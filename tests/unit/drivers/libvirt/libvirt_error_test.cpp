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
      {"internal error: unable to execute QEMU command 'block-commit': Inactive 'libvirt-7-format' can't be "
       "a "
       "backing child of active '#block1404'",
       DeletionBlockReason::PausedAfterMemorySnapshot},
  };
  for (const Case& c : cases) {
    auto e = classifyLibvirtError(VIR_ERR_CONFIG_UNSUPPORTED, c.message, "deleting snapshot 's'");
    EXPECT_EQ(e.kind, DriverErrorKind::Refused) << c.message;
    ASSERT_TRUE(e.block.has_value()) << c.message;
    EXPECT_EQ(e.block->reason, c.reason) << c.message;
    if (c.reason != DeletionBlockReason::PausedAfterMemorySnapshot) {
      EXPECT_THAT(e.block->message, ::testing::HasSubstr(c.message));
    }
  }
}

// The refusals the tree model cannot predict say what unblocks them.
TEST(LibvirtError, RefusalsOnlyLibvirtKnowsSayWhatUnblocksThem) {
  auto image = classifyLibvirtError(
      VIR_ERR_OPERATION_UNSUPPORTED,
      "Operation not supported: disk image 'vda' for internal snapshot 'i1' is not the same as disk image "
      "currently used by VM",
      "deleting snapshot 'i1'");
  ASSERT_TRUE(image.block.has_value());
  EXPECT_THAT(image.block->message, ::testing::HasSubstr("Revert to this snapshot, or stop the domain"));
  auto paused =
      classifyLibvirtError(VIR_ERR_INTERNAL_ERROR,
                           "internal error: unable to execute QEMU command 'block-commit': Inactive "
                           "'libvirt-2-format' can't be a backing child of active '#block17007'",
                           "deleting snapshot 'm1'");
  EXPECT_EQ(paused.kind, DriverErrorKind::Refused);
  ASSERT_TRUE(paused.block.has_value());
  EXPECT_EQ(paused.block->reason, DeletionBlockReason::PausedAfterMemorySnapshot);
  EXPECT_THAT(paused.block->message, ::testing::HasSubstr("Resume the domain (spec.runState: Running)"));
  // Without the node names, which change on every attempt: a retry does not rewrite the condition.
  EXPECT_EQ(paused.block->message,
            classifyLibvirtError(VIR_ERR_INTERNAL_ERROR,
                                 "internal error: unable to execute QEMU command 'block-commit': Inactive "
                                 "'libvirt-5-format' can't be a backing child of active '#block20111'",
                                 "deleting snapshot 'm1'")
                .block->message);
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
