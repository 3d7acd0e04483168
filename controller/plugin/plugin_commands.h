#pragma once
// The commands of the kubectl plugin `kubectl-virtsnap` (controller/kubectl_virtsnap_main.cpp), on
// any ApiClient: what each prints on stdout and stderr and the status it exits with.
//   tree DOMAIN        the Domain's snapshot tree as `virsh snapshot-list --tree` prints it, with the
//                      marks of snapshot_tree_text.h; 1 when the Domain is missing or has no snapshot.
//   revert DOMAIN SNAP creates a SnapshotRevert (generateName DOMAIN-revert-) and waits until it
//                      Succeeded (0, "previous -> target"), Failed (1, its condition's message) or the
//                      timeout passed (1; the agent still executes it).
// An API server that cannot be reached or refuses a request: 1, with the error.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "controller/kube/api_client.h"

namespace virtsnap::plugin {

struct CommandResult {
  int exitCode = 0;
  std::string out;  // for stdout
  std::string err;  // for stderr
};

CommandResult treeCommand(const kube::ApiClientPtr& client, const std::string& ns, const std::string& domain);

struct RevertRequest {
  std::string ns;
  std::string domain;
  std::string snapshot;
  bool force = false;
  std::chrono::milliseconds timeout{60000};
};

CommandResult revertCommand(const kube::ApiClientPtr& client, const RevertRequest& request);

// A kubectl-style duration: "90s", "2m", "1m30s", "500ms", "1h"; a bare number is seconds. nullopt
// when it is not one, or not positive.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

}  // namespace virtsnap::plugin
