#pragma once
// The fixture of a seeded test that runs the real agent binary against the API server binary
// (virtsnap-apiserver) on libvirtd's test driver, both of which outlive the agent: what every such test
// sets up before its own parts (a seed, libvirtd and the test's own connection to it, a directory and
// names of this run's own) and removes after them, and the wait for the agent's readiness.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "crds/snapshot.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirtd_test_driver.h"
#include "tests/support/test_seed.h"

namespace virtsnap::testsupport {

class LibvirtdAgentTest : public ::testing::Test {
 protected:
  // Seeds random_, starts libvirtd and opens observer_ with `options`, creates dir_
  // (virtsnap-`prefix`-<token> in the temporary directory) and names ns_ (`prefix`-<token's first 12>)
  // and domainName_ (<ns_>.web): libvirtd's test driver is one state for every client of the machine.
  void setUpRun(const std::string& prefix, const drivers::libvirt::LibvirtDriverOptions& options = {}) {
    seed_ = seedFromEnvironment();
    random_.seed(seed_);

    auto observer = openLibvirtdTestDriver(options);
    ASSERT_TRUE(observer.has_value()) << observer.error();
    observer_ = std::move(observer).value();

    const std::string unique = uniqueRunToken();
    dir_ = std::filesystem::temp_directory_path() / ("virtsnap-" + prefix + "-" + unique);
    std::filesystem::create_directories(dir_);
    ns_ = prefix + "-" + unique.substr(0, 12);
    domainName_ = ns_ + ".web";
  }

  // On a failure, the seed and the last `characters` of the agent's output.
  void reportFailure(std::size_t characters) const {
    if (HasFailure()) {
      std::cerr << "seed " << seed_ << " (VIRTSNAP_SEED=" << seed_ << " replays it)\n";
      if (agent_) {
        agent_->printOutputTail(std::cerr, characters);
      }
    }
  }

  // This run's domain and directory removed, once the agent and the API server are stopped.
  void removeRun() {
    if (observer_) {
      removeDomain(*observer_, domainName_);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Polls `condition` every 20 ms (each poll is a few API and libvirt calls) until it holds or `limit`.
  static bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
    return eventually(condition, limit, std::chrono::milliseconds(20));
  }

  // Waits up to 30 s for the agent's /readyz on healthPort_.
  void waitReady() {
    ASSERT_TRUE(within(std::chrono::seconds(30), [&] {
      return httpGet(healthPort_, "/readyz").status == 200;
    })) << "the agent never became ready";
  }

  // A Snapshot of Domain web in ns_.
  crds::Snapshot newSnapshot(const std::string& name) const {
    crds::Snapshot object;
    object.metadata.name = name;
    object.metadata.namespaceName = ns_;
    object.spec.domainName = "web";
    return object;
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 random_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> observer_;
  ChildLeakDetectionOff leakDetectionOff_;  // the agent is a process of its own
  std::filesystem::path dir_;
  std::string ns_;
  std::string domainName_;
  std::unique_ptr<ApiServerProcess> server_;
  std::unique_ptr<AgentProcess> agent_;
  int healthPort_ = 0;
};

}  // namespace virtsnap::testsupport
