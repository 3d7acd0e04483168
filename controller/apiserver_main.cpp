// virtsnap-apiserver: the embedded Kubernetes-compatible API server on its own (standalone mode's
// API, and the backbone of the integration tests). Serves the CRDs in --crd-dir on loopback, keeps
// every object under --data-dir, and writes a kubeconfig (mode 0600) with a fresh bearer token.

#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"

namespace {

volatile std::sig_atomic_t stopRequested = 0;
void requestStop(int) {
  stopRequested = 1;
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " [--crd-dir DIR] [--data-dir DIR] [--kubeconfig FILE] [--address ADDR] [--port PORT]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path crdDir = "crds";
  std::filesystem::path dataDir = "virtsnap-data";
  std::filesystem::path kubeconfig;
  virtsnap::apiserver::HttpServerOptions serverOptions;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      return usage(argv[0]);
    }
    const std::string value = argv[++i];
    if (arg == "--crd-dir") {
      crdDir = value;
    } else if (arg == "--data-dir") {
      dataDir = value;
    } else if (arg == "--kubeconfig") {
      kubeconfig = value;
    } else if (arg == "--address") {
      serverOptions.address = value;
    } else if (arg == "--port") {
      serverOptions.port = std::stoi(value);
    } else {
      return usage(argv[0]);
    }
  }
  if (kubeconfig.empty()) {
    kubeconfig = dataDir / "kubeconfig";
  }

  auto registry = virtsnap::apiserver::ResourceRegistry::load(crdDir);
  if (!registry) {
    std::cerr << "virtsnap-apiserver: " << registry.error() << '\n';
    return 1;
  }
  std::filesystem::create_directories(dataDir);
  auto store = virtsnap::apiserver::ObjectStore::open(dataDir / "store", registry.value());
  if (!store) {
    std::cerr << "virtsnap-apiserver: " << store.error() << '\n';
    return 1;
  }
  const std::string token = virtsnap::apiserver::randomToken();
  auto tls = virtsnap::apiserver::makeSelfSignedTls({"127.0.0.1", "::1"}, {"localhost"});
  if (!tls) {
    std::cerr << "virtsnap-apiserver: " << tls.error() << '\n';
    return 1;
  }
  serverOptions.tls = tls.value();
  virtsnap::apiserver::ApiHandler handler(registry.value(), *store.value(), token);
  virtsnap::apiserver::HttpServer server(handler, serverOptions);
  if (auto failed = server.start()) {
    std::cerr << "virtsnap-apiserver: " << *failed << '\n';
    return 1;
  }
  const std::string& url = server.url();
  if (auto written =
          virtsnap::apiserver::writeKubeconfig(kubeconfig, url, token, tls.value().caCertificatePem);
      !written) {
    std::cerr << "virtsnap-apiserver: " << written.error() << '\n';
    return 1;
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
