#pragma once
// libvirtd's test driver (test+unix:///default) for tests that run the real agent binary against it: one
// state for every client of the machine, kept by libvirtd while any connection to it is open. A test
// starts libvirtd as the e2e tests do and holds a connection of its own for its whole run (its view of
// libvirt, independent of the agent's, which a kill or a restart of the agent closes); it names what it
// makes with a token of its own run, and removes its domain at the end.

#include <memory>
#include <random>
#include <string>

#include "base/expected.h"
#include "drivers/hypervisor_driver.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/shell_command.h"

namespace virtsnap::testsupport {

inline constexpr const char* kLibvirtdTestUri = "test+unix:///default";

// Starts libvirtd as the e2e tests start it (scripts/start-libvirtd.sh: idempotent, under their lock).
inline ShellResult startLibvirtd() {
  const std::string source = VIRTSNAP_SOURCE_DIR;
  return runShell("flock -o /run/virtsnap-e2e.lock bash " + source + "/scripts/start-libvirtd.sh 2>&1");
}

// Starts libvirtd and opens a driver on its test driver with `options` (the uri set here), connected
// before it returns: that connection keeps the state alive.
inline Expected<std::unique_ptr<drivers::libvirt::LibvirtDriver>, std::string> openLibvirtdTestDriver(
    drivers::libvirt::LibvirtDriverOptions options = {}) {
  auto started = startLibvirtd();
  if (started.exitCode != 0) {
    return unexpected("cannot start libvirtd: " + started.output);
  }
  options.uri = kLibvirtdTestUri;
  auto observer = std::make_unique<drivers::libvirt::LibvirtDriver>(options);
  auto capabilities = observer->capabilities();  // opens the connection that keeps the state alive
  if (!capabilities) {
    return unexpected(capabilities.error().message);
  }
  return observer;
}

// A token no other run on the machine draws, for the names this run makes in the shared state.
inline std::string uniqueRunToken() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random());
}

// Destroys and undefines `domainName` (its snapshots' metadata with it), whatever the agent left.
inline void removeDomain(drivers::libvirt::LibvirtDriver& observer, const std::string& domainName) {
  observer.destroy(domainName);
  observer.undefine(domainName, drivers::UndefineOptions{});
}

}  // namespace virtsnap::testsupport
