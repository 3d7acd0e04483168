// LibvirtDriver on libvirtd's test driver (test+unix:///default) across a reconnect: libvirtd drops this
// process's connection, as it does when it restarts, and the driver opens a new one by itself. Only the
// client whose process is this test is disconnected (virt-admin), so other users of the daemon go on.

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/driver_printers.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace virtsnap::drivers::libvirt {
namespace {

using namespace std::chrono_literals;

TEST(DaemonReconnect, GuestOffersAreReadOncePerConnectionAndAgainOnTheNewOne) {
  const std::string source = VIRTSNAP_SOURCE_DIR;
  auto started = testsupport::runShell("flock -o /run/virtsnap-e2e.lock bash " + source +
                                       "/scripts/start-libvirtd.sh 2>&1");
  ASSERT_EQ(started.exitCode, 0) << "cannot start libvirtd: " << started.output;
  LibvirtDriverOptions options;
  options.uri = "test+unix:///default";
  LibvirtDriver driver(options);
  auto offers = driver.guestOffers();
  ASSERT_TRUE(offers.has_value()) << offers.error().message;
  EXPECT_EQ(offers.value(), (GuestOffers{{"i686", {"test"}}}));
  ASSERT_TRUE(driver.guestOffers().has_value());
  EXPECT_EQ(driver.guestOfferReads(), 1);
  ASSERT_EQ(driver.connectionsOpened(), 1);

  // libvirtd closes this process's connection (its clients' ids, then the one with this pid).
  const std::string pid = std::to_string(::getpid());
  auto dropped = testsupport::runShell(
      "for id in $(virt-admin srv-clients-list libvirtd | awk '$1 ~ /^[0-9]+$/ {print $1}'); do "
      "  if virt-admin client-info libvirtd \"$id\" | grep -Eq '^unix_process_id *: *" +
      pid +
      "$'; then "
      "    virt-admin client-disconnect libvirtd \"$id\" >/dev/null && echo \"$id\"; fi; done 2>&1");
  ASSERT_EQ(dropped.exitCode, 0) << dropped.output;
  ASSERT_FALSE(dropped.output.empty()) << "no client of libvirtd has pid " << pid;

  // The close is noticed (libvirt's close callback, or the next call failing), a new connection is
  // opened, and the guests are read on it.
  ASSERT_TRUE(testsupport::eventually(
      [&] { return driver.guestOffers().has_value() && driver.connectionsOpened() == 2; }, 10s, 20ms))
      << "opened " << driver.connectionsOpened() << " connections";
  EXPECT_EQ(driver.guestOfferReads(), 2);
  EXPECT_EQ(driver.guestOffers().value(), offers.value());
  EXPECT_EQ(driver.guestOfferReads(), 2);
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
