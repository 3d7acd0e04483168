// virtsnap-controller: the per-node agent. Watches this node's Domains and their Snapshots and
// SnapshotReverts, reconciles them against libvirt, and writes the snapshot tree into their status.
// With --standalone it also runs the embedded API server on loopback (objects kept under --data-dir,
// kubeconfig written mode 0600) and defaults to libvirt's test driver: one process, nothing else needed.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include "controller/agent/agent_manager.h"
#include "controller/agent/http/health_server.h"
#include "controller/agent/malloc_arenas.h"
#include "controller/agent/standalone_server.h"
#include "controller/agent/web/tree_page_model.h"
#include "controller/command_line.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/rest_client_metrics.h"
#include "controller/logging/spdlog_logger.h"
#include "drivers/libvirt/libvirt_driver.h"

namespace {

volatile std::sig_atomic_t stopRequested = 0;
void requestStop(int) {
  stopRequested = 1;
}

int fail(const std::string& problem) {
  virtsnap::logLine(virtsnap::LogLevel::Error, "controller", problem);
  return 1;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string defaultIdentity() {
  std::string pod = environment("POD_NAME");
  if (!pod.empty()) {
    return pod;
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// "host:port" of the API server's URL, the rest_client_* metrics' host label (as client-go's).
std::string serverHost(const std::string& server) {
  std::string host = server;
  if (auto scheme = host.find("://"); scheme != std::string::npos) {
    host = host.substr(scheme + 3);
  }
  return host.substr(0, host.find('/'));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace virtsnap;
  // Before any thread starts (docs/decisions.md, "malloc arenas"); MALLOC_ARENA_MAX overrides it.
  agent::limitMallocArenas();
  std::string kubeconfig;
  std::string nodeName = environment("NODE_NAME");
  std::string libvirtUri;
  std::string metricsAddress = ":8080";
  std::string healthAddress = ":8081";
  int workers = 4;
  kube::RestClientOptions clientOptions;  // its qps and burst are the --kube-api-* flags' defaults
  double resyncSeconds = 600;
  double pollSeconds = 30;
  // The Domain's tree status (reconcilers/tree_status_debounce.h); defaults measured in docs/decisions.md.
  double treeStatusDelaySeconds = 3;
  double treeStatusMaxDelaySeconds = 30;
  std::vector<std::string> storageRoots;
  std::string storagePool;
  std::string leaseNamespace =
      environment("POD_NAMESPACE").empty() ? "virtsnap-system" : environment("POD_NAMESPACE");
  std::string identity = defaultIdentity();
  int leaseDurationSeconds = 15;  // client-go's (and controller-runtime's) leader election defaults
  double renewDeadlineSeconds = 10;
  double retryPeriodSeconds = 2;
  bool standalone = false;
  agent::StandaloneOptions standaloneOptions;
  std::string dataDir = "virtsnap-data";
  std::string crdDir = "crds";
  std::string listen = "127.0.0.1:0";
  bool exitWhenReady = false;
  bool webUi = false;
  bool noWebUi = false;
  logging::LogOptions logOptions;

  CLI::App app(
      "virtsnap's per-node agent: libvirt domains and their snapshot trees, declared as Kubernetes objects.",
      "virtsnap-controller");
  app.add_option("--kubeconfig", kubeconfig,
                 "Kubeconfig to use (default: in-cluster, then KUBECONFIG, ~/.kube/config)");
  app.add_option(
      "--node-name", nodeName,
      "This node's name (default: $NODE_NAME, from the downward API; localhost with --standalone)");
  app.add_option("--libvirt-uri", libvirtUri,
                 "libvirt connection (default: qemu:///system; test:///default with --standalone)");
  app.add_option(
         "--metrics-bind-address", metricsAddress,
         "Where /metrics is served (\"0\" turns it off; with --standalone the default is 127.0.0.1:8080)")
      ->capture_default_str();
  app.add_option("--health-probe-bind-address", healthAddress,
                 "Where /healthz and /readyz are served (\"0\": off; with --standalone the default is "
                 "127.0.0.1:8081)")
      ->capture_default_str();
  auto* webUiFlag = app.add_flag(
      "--web-ui", webUi,
      "Also serve /tree on the health-probe address: a read-only web page drawing this node's Domains' "
      "snapshot trees (phases, the current snapshot, blocked deletions) from the agent's caches, "
      "refreshed every 1.5 s (default: on with --standalone, off otherwise)");
  app.add_flag("--no-web-ui", noWebUi, "Do not serve the tree page (see --web-ui)")->excludes(webUiFlag);
  app.add_option("--workers", workers, "Reconciles at once, per kind")
      ->check(integerIn(1, 64))
      ->capture_default_str();
  app.add_option("--kube-api-qps", clientOptions.qps,
                 "Requests per second the agent sends the API server, sustained (0: no limit)")
      ->check(CLI::Range(0.0, 100000.0))
      ->capture_default_str();
  app.add_option("--kube-api-burst", clientOptions.burst,
                 "Requests the agent may send at once above --kube-api-qps")
      ->check(integerIn(1, 100000))
      ->capture_default_str();
  app.add_option("--resync-period", resyncSeconds, "Seconds between re-deliveries of every cached object")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--poll-period", pollSeconds, "Seconds between polls of each domain's snapshot tree")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--tree-status-delay", treeStatusDelaySeconds,
                 "Seconds a Domain's snapshot tree must stay unchanged before its status is written (0: "
                 "at once), so a burst of snapshots costs one Domain status write")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--tree-status-max-delay", treeStatusMaxDelaySeconds,
                 "Seconds a Domain's tree status may lag behind libvirt's tree at most, however often the "
                 "tree keeps changing")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--allowed-storage-root", storageRoots,
                 "A directory disk images may lie under (repeatable; default /var/lib/libvirt/images)");
  app.add_option("--storage-pool", storagePool, "libvirt storage pool for `create:` disks");
  app.add_option("--lease-namespace", leaseNamespace, "Namespace of the node's Lease")->capture_default_str();
  app.add_option("--identity", identity,
                 "This agent's name among the node's candidates (default: $POD_NAME)");
  app.add_option("--leader-elect-lease-duration", leaseDurationSeconds,
                 "Seconds a candidate waits after the holder's last renewal of the node's Lease before it "
                 "takes over (a holder that stops cleanly releases it at once)")
      ->check(integerIn(2, 3600))
      ->capture_default_str();
  app.add_option("--leader-elect-renew-deadline", renewDeadlineSeconds,
                 "Seconds the holder keeps retrying a failed renewal before it gives the Lease up and exits "
                 "(below the lease duration)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--leader-elect-retry-period", retryPeriodSeconds,
                 "Seconds between two rounds on the Lease, for the holder and the candidates")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_flag("--standalone", standalone, "Run the embedded API server in this process, on loopback");
  app.add_option("--data-dir", dataDir, "Standalone: where objects and the kubeconfig are kept")
      ->capture_default_str();
  app.add_option("--crd-dir", crdDir, "Standalone: the CustomResourceDefinitions to serve")
      ->capture_default_str();
  app.add_option("--listen", listen, "Standalone: the API server's address:port (port 0: the first free one)")
      ->capture_default_str();
  app.add_flag("--exit-when-ready", exitWhenReady, "Exit 0 as soon as the agent is ready (for tests)");
  addLogFlags(app, logOptions);
  if (auto status = parseCommandLine(app, argc, argv)) {
    return *status;
  }
  logging::installProcessLogger(logOptions);

  if (standalone && nodeName.empty()) {
    nodeName = "localhost";  // one machine: the quick start's Domains name this node
  }
  // Like the standalone API, for this machine only.
  if (standalone && app.count("--health-probe-bind-address") == 0) {
    healthAddress = "127.0.0.1:8081";
  }
  if (standalone && app.count("--metrics-bind-address") == 0) {
    metricsAddress = "127.0.0.1:8080";
  }
  const bool treePage = webUi || (standalone && !noWebUi);
  if (nodeName.empty()) {
    return fail("no node name: pass --node-name or set NODE_NAME");
  }
  const auto seconds = [](double value) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(value));
  };
  agent::AgentManagerOptions options;
  options.identity = identity;
  options.leaseNamespace = leaseNamespace;
  options.settings.nodeName = nodeName;
  options.leaseDuration = std::chrono::seconds(leaseDurationSeconds);
  options.leaseRenewDeadline = seconds(renewDeadlineSeconds);
  options.leaseRetryPeriod = seconds(retryPeriodSeconds);
  if (auto problem = kube::validateLeaderElectionConfig(agent::agentLeaseConfig(options)); !problem.empty()) {
    return fail("the --leader-elect-* flags do not fit together: " + problem);
  }
  if (libvirtUri.empty()) {
    libvirtUri = standalone ? "test:///default" : "qemu:///system";
  }
  // libvirt's test driver, in this process (test:) or in libvirtd (test+unix:, test+tcp:, ...).
  const bool testDriver = libvirtUri.starts_with("test:") || libvirtUri.starts_with("test+");
  if (storageRoots.empty()) {
    storageRoots.push_back(testDriver ? "/default-pool" : "/var/lib/libvirt/images");
  }
  if (storagePool.empty() && testDriver) {
    storagePool = "default-pool";
  }

  std::unique_ptr<agent::StandaloneServer> server;
  if (standalone) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return fail("--listen must be address:port, not " + listen);
    }
    standaloneOptions.address = listen.substr(0, colon);
    try {
      standaloneOptions.port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      return fail("--listen must be address:port, not " + listen);
    }
    if (standaloneOptions.address != "127.0.0.1" && standaloneOptions.address != "::1" &&
        standaloneOptions.address != "localhost") {
      return fail("--listen must be a loopback address: the standalone API is for this machine only");
    }
    standaloneOptions.dataDir = dataDir;
    standaloneOptions.crdDir = crdDir;
    auto started = agent::StandaloneServer::start(standaloneOptions);
    if (!started) {
      return fail(started.error());
    }
    server = std::move(started).value();
    kubeconfig = server->kubeconfig().string();
  }

  kube::ConfigSearch search;
  search.kubeconfigFlag = kubeconfig;
  auto config = kube::loadClusterConfig(search);
  if (!config) {
    return fail("no usable cluster configuration: " + config.error());
  }
  auto registry = std::make_shared<prometheus::Registry>();
  clientOptions.userAgent = "virtsnap-controller";
  clientOptions.metrics =
      std::make_shared<kube::RestClientMetrics>(registry, serverHost(config.value().server));
  auto client = kube::makeHttpApiClient(config.value(), clientOptions);
  kube::RestClientOptions leaseOptions = clientOptions;
  // Well below the renew deadline, so one hung call cannot cost the Lease.
  leaseOptions.timeout =
      std::min<std::chrono::milliseconds>(std::chrono::seconds(4), options.leaseRenewDeadline / 2);
  auto leaseClient = kube::makeHttpApiClient(config.value(), leaseOptions);
  if (!client || !leaseClient) {
    return fail("cannot build the API client: " + (client ? leaseClient.error() : client.error()).message);
  }
  if (standalone) {
    // The Lease lives in a namespace that a fresh data directory does not have yet.
    nlohmann::json ns = {
        {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", leaseNamespace}}}};
    auto created = client.value()->create(meta::resources::namespaces(), ns, {});
    if (!created && created.error().kind != kube::ErrorKind::AlreadyExists) {
      return fail("creating namespace " + leaseNamespace + ": " + created.error().message);
    }
  }

  drivers::libvirt::LibvirtDriverOptions driverOptions;
  driverOptions.uri = libvirtUri;
  for (const auto& root : storageRoots) {
    driverOptions.storageRoots.emplace_back(root);
  }
  drivers::libvirt::LibvirtDriver driver(driverOptions);

  options.settings.storagePool = storagePool;
  options.settings.pollPeriod =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(pollSeconds));
  options.settings.treeStatusDelay = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(treeStatusDelaySeconds));
  options.settings.treeStatusMaxDelay = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(treeStatusMaxDelaySeconds));
  options.storageRoots = driverOptions.storageRoots;
  options.workers = workers;
  options.resyncPeriod =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(resyncSeconds));
  agent::AgentManager manager(options, client.value(), leaseClient.value(), driver, registry);

  std::unique_ptr<prometheus::Exposer> exposer;
  if (metricsAddress != "0") {
    try {
      exposer = std::make_unique<prometheus::Exposer>(
          metricsAddress.starts_with(":") ? "0.0.0.0" + metricsAddress : metricsAddress);
      exposer->RegisterCollectable(registry);
      for (const auto& scraped : manager.scrapedMetrics()) {
        exposer->RegisterCollectable(scraped);
      }
    } catch (const std::exception& error) {
      return fail("cannot serve metrics on " + metricsAddress + ": " + error.what());
    }
  }
  std::unique_ptr<agent::HealthServer> health;
  if (healthAddress != "0") {
    health = std::make_unique<agent::HealthServer>(
        healthAddress,
        std::vector<agent::ReadinessCheck>{
            {"leader-election",
             [&manager, lease = agent::agentLeaseName(nodeName)]() -> std::optional<std::string> {
               if (manager.leading())
                 return std::nullopt;
               return "not holding the node's Lease " + lease;
             }},
            {"informer-sync",
             [&manager]() -> std::
                              optional<std::string> {
                                if (manager.cachesSynced())
                                  return std::nullopt;
                                return std::string(
                                    "the Domain, Snapshot and SnapshotRevert caches have not synced");
                              }},
            {"workers",
             [&manager]() -> std::
                              optional<std::string> {
                                if (manager.ready())
                                  return std::nullopt;
                                return std::string("the reconcilers' workers are not running");
                              }},
            {"libvirt",
             [&driver]() -> std::
                             optional<std::string> {
                               auto reached = driver.capabilities();
                               if (reached)
                                 return std::nullopt;
                               return reached.error().message;
                             }}},
        treePage ? agent::TreePageSource([&manager] {
          return agent::web::treePageData(manager.domainCache(), manager.snapshotCache(),
                                          manager.cachesSynced())
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        })
                 : agent::TreePageSource());
    if (auto failed = health->start()) {
      return fail(*failed);
    }
  }

  std::signal(SIGINT, requestStop);
  std::signal(SIGTERM, requestStop);
  if (auto started = manager.start(); !started) {
    return fail(started.error());
  }
  logLine(LogLevel::Info, "controller",
          "node " + nodeName + ", libvirt " + libvirtUri +
              (standalone ? ", standalone API " + server->url() : ""));
  // One write, so whoever waits for the first of these lines finds the others with it.
  std::string banner;
  if (standalone) {
    banner += "virtsnap-controller: standalone API on " + server->url() +
              "\nkubeconfig: " + server->kubeconfig().string() + "\n";
  }
  if (health && treePage) {
    const std::string shown = healthAddress.starts_with(":") ? "127.0.0.1" + healthAddress : healthAddress;
    banner += "virtsnap-controller: snapshot trees on http://" + shown + "/tree\n";
  }
  std::cout << banner << std::flush;
  int status = 0;
  while (stopRequested == 0) {
    if (manager.failed()) {
      status = 1;
      break;
    }
    if (exitWhenReady && manager.ready()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  logLine(LogLevel::Info, "controller", "stopping: finishing the operations in flight, releasing the Lease");
  manager.stop();
  if (health) {
    health->stop();
  }
  if (server) {
    server->stop();
  }
  return status;
}
