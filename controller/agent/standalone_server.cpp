#include "controller/agent/standalone_server.h"

#include <system_error>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"

namespace virtsnap::agent {

struct StandaloneServer::Parts {
  std::unique_ptr<apiserver::ResourceRegistry> registry;
  std::unique_ptr<apiserver::ObjectStore> store;
  std::unique_ptr<apiserver::ApiHandler> handler;
  std::unique_ptr<apiserver::HttpServer> server;
  std::string url;
  std::filesystem::path kubeconfig;
};

Expected<std::unique_ptr<StandaloneServer>, std::string> StandaloneServer::start(
    const StandaloneOptions& options) {
  auto parts = std::make_unique<Parts>();
  auto registry = apiserver::ResourceRegistry::load(options.crdDir);
  if (!registry) {
    return unexpected("loading the CRDs from " + options.crdDir.string() + ": " + registry.error());
  }
  parts->registry = std::make_unique<apiserver::ResourceRegistry>(std::move(registry).value());
  if (std::error_code ec; !std::filesystem::create_directories(options.dataDir, ec) && ec) {
    return unexpected("cannot create " + options.dataDir.string() + ": " + ec.message());
  }
  auto store = apiserver::ObjectStore::open(options.dataDir / "store", *parts->registry);
  if (!store) {
    return unexpected("opening the store in " + options.dataDir.string() + ": " + store.error());
  }
  parts->store = std::move(store).value();
  const std::string token = apiserver::randomToken();
  auto tls = apiserver::makeSelfSignedTls({"127.0.0.1", "::1"}, {"localhost"});
  if (!tls) {
    return unexpected(tls.error());
  }
  parts->handler = std::make_unique<apiserver::ApiHandler>(*parts->registry, *parts->store, token);
  apiserver::HttpServerOptions serverOptions;
  serverOptions.address = options.address;
  serverOptions.port = options.port;
  serverOptions.tls = tls.value();
  parts->server = std::make_unique<apiserver::HttpServer>(*parts->handler, serverOptions);
  if (auto failed = parts->server->start()) {
    return unexpected(*failed);
  }
  parts->url = parts->server->url();
  parts->kubeconfig = std::filesystem::absolute(options.dataDir / "kubeconfig");
  if (auto written = apiserver::writeKubeconfig(parts->kubeconfig, parts->url, token, tls->caCertificatePem);
      !written) {
    return unexpected(written.error());
  }
  return std::unique_ptr<StandaloneServer>(new StandaloneServer(std::move(parts)));
}

StandaloneServer::StandaloneServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

StandaloneServer::~StandaloneServer() {
  stop();
}

const std::string& StandaloneServer::url() const {
  return parts_->url;
}

const std::filesystem::path& StandaloneServer::kubeconfig() const {
  return parts_->kubeconfig;
}

void StandaloneServer::stop() {
  if (parts_->server) {
    parts_->server->stop();
  }
}

}  // namespace virtsnap::agent
