#pragma once
// Standalone mode's API: the embedded Kubernetes-compatible API server in the agent's process, on
// loopback, keeping every object under a data directory (so a restart loses nothing), with a fresh
// bearer token in a kubeconfig written mode 0600 for kubectl and for the agent itself.

#include <filesystem>
#include <memory>
#include <string>

#include "base/expected.h"

namespace virtsnap::agent {

struct StandaloneOptions {
  std::filesystem::path dataDir = "virtsnap-data";
  std::filesystem::path crdDir = "crds";
  std::string address = "127.0.0.1";  // loopback only
  int port = 0;                       // 0: a free one in 38000-38999
};

class StandaloneServer {
 public:
  static Expected<std::unique_ptr<StandaloneServer>, std::string> start(const StandaloneOptions& options);
  ~StandaloneServer();
  StandaloneServer(const StandaloneServer&) = delete;
  StandaloneServer& operator=(const StandaloneServer&) = delete;

  const std::string& url() const;
  const std::filesystem::path& kubeconfig() const;
  void stop();

 private:
  struct Parts;
  explicit StandaloneServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace virtsnap::agent
