#pragma once
// The health probes on --health-probe-bind-address, as controller-runtime serves them: /healthz (and
// /livez) answers 200 "[+]ping ok" while the process serves at all; /readyz runs every named readiness
// check (the binary's: leader-election, informer-sync, workers, libvirt) and answers one line per check,
// "[+]<name> ok" or "[-]<name> failed: <why>", with 200 when all pass and 503 otherwise.
// With a tree page (the binary's --web-ui), also the read-only page of this node's snapshot trees:
// /tree (and /tree.js, /tree.css: the files of controller/agent/web/, compiled in) and /tree.json, the
// data the page polls, as the page source returns it at each request. Every page answer carries a
// Content-Security-Policy that admits only this server's own script, style and data, and
// X-Content-Type-Options: nosniff.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace virtsnap::agent {

// A named readiness check: empty when ready, else why not.
using ReadinessCheck = std::pair<std::string, std::function<std::optional<std::string>()>>;
// The tree page's data: the JSON document /tree.json answers (controller/agent/web/tree_page_model.h).
using TreePageSource = std::function<std::string()>;

class HealthServer {
 public:
  // `bindAddress` as "host:port" (":8081" means every interface). Without `treePage` (empty), no page.
  HealthServer(std::string bindAddress, std::vector<ReadinessCheck> checks, TreePageSource treePage = {});
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
