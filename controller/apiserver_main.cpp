// virtsnap-apiserver: the embedded Kubernetes-compatible API server on its own (standalone mode's
// API, and the backbone of the integration tests). Serves the CRDs in --crd-dir on loopback, keeps
// every object under --data-dir, and writes a kubeconfig (mode 0600) with its bearer token: made on the
// first start and kept in the data directory with the TLS material, so a restart keeps its clients.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/server_credentials.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"
#include "controller/command_line.h"
#include "controller/logging/spdlog_logger.h"

namespace {

volatile std::sig_atomic_t stopRequested = 0;
void requestStop(int) {
  stopRequested = 1;
}

// A failure before serving: logged, and the process exits 1.
int fail(const std::string& problem) {
  virtsnap::logLine(virtsnap::LogLevel::Error, "apiserver", problem);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string crdDir = "crds";
  std::string dataDirName = "virtsnap-data";
  std::string kubeconfigName;
  virtsnap::apiserver::HttpServerOptions serverOptions;
  virtsnap::logging::LogOptions logOptions;
  CLI::App app("The embedded Kubernetes-compatible API server: serves the CRDs of --crd-dir on loopback.",
               "virtsnap-apiserver");
  app.add_option("--crd-dir", crdDir, "Folder of CustomResourceDefinition YAML files")->capture_default_str();
  app.add_option("--data-dir", dataDirName, "Where objects are kept")->capture_default_str();
  app.add_option("--kubeconfig", kubeconfigName, "Kubeconfig to write (default: <data-dir>/kubeconfig)");
  app.add_option("--address", serverOptions.address, "Address to listen on")->capture_default_str();
  app.add_option("--port", serverOptions.port, "Port to listen on (0: a free one in 38000-38999)")
      ->check(virtsnap::integerIn(0, 65535))
      ->capture_default_str();
  virtsnap::addLogFlags(app, logOptions);
  if (auto status = virtsnap::parseCommandLine(app, argc, argv)) {
    return *status;
  }
  virtsnap::logging::installProcessLogger(logOptions);

  const std::filesystem::path dataDir = dataDirName;
  std::filesystem::path kubeconfig = kubeconfigName;
  if (kubeconfig.empty()) {
    kubeconfig = dataDir / "kubeconfig";
  }

  auto registry = virtsnap::apiserver::ResourceRegistry::load(crdDir);
  if (!registry) {
    return fail(registry.error());
  }
  if (std::error_code ec; !std::filesystem::create_directories(dataDir, ec) && ec) {
    return fail("cannot create " + dataDir.string() + ": " + ec.message());
  }
  auto store = virtsnap::apiserver::ObjectStore::open(dataDir / "store", registry.value());
  if (!store) {
    return fail(store.error());
  }
  // The token and TLS material of the last run on this data, so that its clients' kubeconfigs still work.
  auto credentials = virtsnap::apiserver::loadOrMakeServerCredentials(dataDir / "credentials.json");
  if (!credentials) {
    return fail(credentials.error());
  }
  const std::string& token = credentials.value().token;
  serverOptions.tls = credentials.value().tls;
  virtsnap::apiserver::ApiHandler handler(registry.value(), *store.value(), token);
  virtsnap::apiserver::HttpServer server(handler, serverOptions);
  if (auto failed = server.start()) {
    return fail(*failed);
  }
  const std::string& url = server.url();
  if (auto written = virtsnap::apiserver::writeKubeconfig(kubeconfig, url, token,
                                                          credentials.value().tls.caCertificatePem);
      !written) {
    return fail(written.error());
  }
  std::cout << "virtsnap-apiserver: serving " << registry.value().all().size() << " resource types on " << url
            << "\nkubeconfig: " << std::filesystem::absolute(kubeconfig).string()
            << "\ndata: " << std::filesystem::absolute(dataDir).string() << std::endl;

  std::signal(SIGINT, requestStop);
  std::signal(SIGTERM, requestStop);
  while (stopRequested == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.stop();
  return 0;
}
