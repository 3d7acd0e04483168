#pragma once
// The health probes on --health-probe-bind-address, as controller-runtime serves them: /healthz (and
// /livez) answers 200 "[+]ping ok" while the process serves at all; /readyz runs every named readiness
// check (the binary's: leader-election, informer-sync, workers, libvirt) and answers one line per check,
// "[+]<name> ok" or "[-]<name> failed: <why>", with 200 when all pass and 503 otherwise.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace virtsnap::agent {

// A named readiness check: empty when ready, else why not.
using ReadinessCheck = std::pair<std::string, std::function<std::optional<std::string>()>>;

class HealthServer {
 public:
  // `bindAddress` as "host:port" (":8081" means every interface).
  HealthServer(std::string bindAddress, std::vector<ReadinessCheck> checks);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // Empty on success, else why the listener could not open.
  std::optional<std::string> start();
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace virtsnap::agent
