#pragma once
// The agent in the test's own process: the embedded API server (in-process transport), the agent's
// manager on libvirt's test driver, and a second driver on the same test:///default ("observer"),
// which sees libvirt's own state, because the test driver's state is shared by every connection of
// one process. Tests create objects through the server's client and compare with the observer.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "controller/agent/agent_manager.h"
#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/test_driver_domain.h"

namespace virtsnap::testsupport {

class InProcessAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedApiServerOptions options;
    options.dirPrefix = "virtsnap-in-process-agent";
    options.namespaces = {"vms", "virtsnap-system"};
    options.client.qps = 0;
    auto started = EmbeddedApiServer::start(options);
    ASSERT_TRUE(started.has_value()) << started.error();
    server_ = std::move(started).value();

    drivers::libvirt::LibvirtDriverOptions driverOptions;
    driverOptions.uri = "test:///default";
    driverOptions.storageRoots = {"/default-pool"};
    driverOptions.revertSpacing = std::chrono::milliseconds(0);
    driver_ = std::make_unique<drivers::libvirt::LibvirtDriver>(driverOptions);
    observer_ = std::make_unique<drivers::libvirt::LibvirtDriver>(driverOptions);

    startManager();
  }

  // The options the agent is started with; a test changes them by overriding this.
  virtual agent::AgentManagerOptions agentOptions() {
    agent::AgentManagerOptions options;
    options.settings.nodeName = "n1";
    options.settings.storagePool = "default-pool";
    options.settings.pollPeriod = std::chrono::milliseconds(500);
    options.storageRoots = {"/default-pool"};
    options.workers = 2;
    options.identity = "in-process";
    return options;
  }

  // A new agent (fresh caches and hypervisor views, its own metrics in registry_) on the same server
  // and driver; ready when it returns.
  void startManager() {
    registry_ = std::make_shared<prometheus::Registry>();
    manager_ = std::make_unique<agent::AgentManager>(agentOptions(), server_->client(), server_->client(),
                                                     *driver_, registry_);
    auto ready = manager_->start();
    ASSERT_TRUE(ready.has_value()) << ready.error();
    ASSERT_TRUE(manager_->waitReady(std::chrono::seconds(30)));
  }

  void stopManager() {
    if (manager_) {
      manager_->stop();
    }
    manager_.reset();
  }

  void TearDown() override {
    stopManager();
    for (const std::string& name : undefineAtEnd_) {
      observer_->destroy(name);
      observer_->undefine(name, drivers::UndefineOptions{});
    }
  }

  // A Domain of the test driver's kind on node n1, in namespace vms.
  static crds::Domain testDomain(const std::string& name) { return testDriverDomain("vms", name, "n1"); }

  std::optional<crds::Domain> domain(const std::string& name) {
    auto got = kube::TypedClient<crds::Domain>(server_->client()).get("vms", name);
    return got ? std::optional<crds::Domain>(got.value()) : std::nullopt;
  }

  std::unique_ptr<EmbeddedApiServer> server_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> driver_;
  std::unique_ptr<drivers::libvirt::LibvirtDriver> observer_;  // libvirt's own view
  std::shared_ptr<prometheus::Registry> registry_;             // the running agent's metrics
  std::unique_ptr<agent::AgentManager> manager_;
  std::vector<std::string> undefineAtEnd_;  // libvirt domains a test leaves behind
};

}  // namespace virtsnap::testsupport
