// kubectl-virtsnap: the kubectl plugin (kubectl finds it on PATH and runs `kubectl virtsnap ...`).
//   kubectl virtsnap tree DOMAIN                      the snapshot tree, as virsh snapshot-list --tree
//   kubectl virtsnap revert DOMAIN SNAPSHOT [--force] [--timeout 60s]
// The cluster as kubectl finds it: --kubeconfig, else KUBECONFIG, else in-cluster, else ~/.kube/config
// (controller/kube/kube_config.h); --context; -n/--namespace, else the context's namespace, else
// "default". What the commands print and return: controller/plugin/plugin_commands.h.

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "controller/command_line.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/logging/spdlog_logger.h"
#include "controller/plugin/plugin_commands.h"

int main(int argc, char** argv) {
  using namespace virtsnap;
  std::string kubeconfig;
  std::string context;
  std::string ns;
  std::string domain;
  std::string snapshot;
  bool force = false;
  std::string timeout = "60s";

  CLI::App app("kubectl virtsnap: virtsnap's snapshot trees for people. Run as a kubectl plugin.",
               "kubectl virtsnap");
  app.fallthrough();  // the global flags may follow the command, as with kubectl
  app.require_subcommand(1);
  app.add_option("--kubeconfig", kubeconfig, "Path to the kubeconfig file (else KUBECONFIG, ~/.kube/config)");
  app.add_option("--context", context, "The kubeconfig context to use (else its current-context)");
  app.add_option("-n,--namespace", ns,
                 "Namespace of the Domain (else the context's namespace, else default)");

  CLI::App* tree = app.add_subcommand(
      "tree",
      "Print DOMAIN's snapshot tree as `virsh snapshot-list --tree` does; the current snapshot is "
      "marked *, a phase other than Ready and a blocked deletion (with its reason) in parentheses");
  tree->add_option("DOMAIN", domain, "The Domain's name")->required();

  CLI::App* revert = app.add_subcommand(
      "revert", "Revert DOMAIN to SNAPSHOT: create a SnapshotRevert and wait until it Succeeded or Failed");
  revert->add_option("DOMAIN", domain, "The Domain's name")->required();
  revert->add_option("SNAPSHOT", snapshot, "The Snapshot to revert to")->required();
  revert->add_flag("--force", force, "Revert even where libvirt asks for force (spec.force)");
  revert->add_option("--timeout", timeout, "How long to wait: 90s, 2m, 1m30s ...")->capture_default_str();

  if (auto exit = parseCommandLine(app, argc, argv)) {
    return *exit;
  }
  logging::installProcessLogger(logging::LogOptions{LogLevel::Warning, logging::LogFormat::Text});
  const auto waitFor = plugin::parseDuration(timeout);
  if (!waitFor) {
    std::cerr << "error: --timeout " << timeout << " is not a positive duration (90s, 2m, 1m30s)\n";
    return kUsageError;
  }

  kube::ConfigSearch search;
  search.kubeconfigFlag = kubeconfig;
  search.context = context;
  auto config = kube::loadClusterConfig(search);
  if (!config) {
    std::cerr << "error: no usable cluster configuration: " << config.error() << "\n";
    return 1;
  }
  if (ns.empty()) {
    ns = config.value().ns.empty() ? "default" : config.value().ns;
  }
  kube::RestClientOptions clientOptions;
  clientOptions.userAgent = "kubectl-virtsnap";
  clientOptions.timeout = std::chrono::seconds(15);
  auto client = kube::makeHttpApiClient(config.value(), clientOptions);
  if (!client) {
    std::cerr << "error: cannot talk to " << config.value().server << ": " << client.error().describe()
              << "\n";
    return 1;
  }

  plugin::CommandResult result;
  if (tree->parsed()) {
    result = plugin::treeCommand(client.value(), ns, domain);
  } else {
    result =
        plugin::revertCommand(client.value(), plugin::RevertRequest{ns, domain, snapshot, force, *waitFor});
  }
  std::cout << result.out << std::flush;
  std::cerr << result.err << std::flush;
  return result.exitCode;
}
