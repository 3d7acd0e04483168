#pragma once
// The HTTPS front of an EmbeddedApiServer, as kubectl and the agent see it: the server's HttpServer on
// 127.0.0.1 with a fresh self-signed certificate, the kubeconfig it would hand out written to
// <data dir>/kubeconfig, and that kubeconfig loaded by kube_config into the ClusterConfig clients use.
//
// Guarantees: start() returns a listening front or the reason it is not, as a value. The destructor
// stops the listener; destroy the front before its EmbeddedApiServer, and the clients made from
// clusterConfig() before either. Only for targets that link virtsnap_kube + virtsnap_apiserver
// (cpprest): integration tests and benchmarks.

#include <memory>
#include <string>
#include <utility>

#include "base/expected.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/kube/kube_config.h"
#include "tests/support/embedded_api_server.h"

namespace virtsnap::testsupport {

class EmbeddedHttpsServer {
 public:
  using Started = Expected<std::unique_ptr<EmbeddedHttpsServer>, std::string>;

  // `api` must have a token: kubectl and the agent send one only over TLS, and the handler checks it.
  static Started start(EmbeddedApiServer& api) {
    std::unique_ptr<EmbeddedHttpsServer> front(new EmbeddedHttpsServer());
    auto tls = apiserver::makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
    if (!tls.has_value()) {
      return "cannot make a TLS certificate: " + tls.error();
    }
    front->tls_ = tls.value();
    front->server_ = std::make_unique<apiserver::HttpServer>(
        api.handler(), apiserver::HttpServerOptions{"127.0.0.1", 0, front->tls_});
    if (auto failed = front->server_->start()) {
      return "cannot start the HTTPS server: " + *failed;
    }
    front->kubeconfig_ = api.dir() / "kubeconfig";
    auto written = apiserver::writeKubeconfig(front->kubeconfig_, front->server_->url(), api.token(),
                                              front->tls_.caCertificatePem);
    if (!written.has_value()) {
      return "cannot write the kubeconfig: " + written.error();
    }
    auto config = kube::loadKubeconfig({front->kubeconfig_});
    if (!config.has_value()) {
      return "cannot load the kubeconfig: " + config.error();
    }
    front->config_ = config.value();
    return Started(std::move(front));
  }

  EmbeddedHttpsServer(const EmbeddedHttpsServer&) = delete;
  EmbeddedHttpsServer& operator=(const EmbeddedHttpsServer&) = delete;

  ~EmbeddedHttpsServer() {
    if (server_) {
      server_->stop();
    }
  }

  apiserver::HttpServer& server() { return *server_; }
  const apiserver::TlsMaterial& tls() const { return tls_; }
  const std::filesystem::path& kubeconfig() const { return kubeconfig_; }
  // The kubeconfig as loaded: server URL, CA and a static token source.
  const kube::ClusterConfig& clusterConfig() const { return config_; }

 private:
  EmbeddedHttpsServer() = default;

  apiserver::TlsMaterial tls_;
  std::unique_ptr<apiserver::HttpServer> server_;
  std::filesystem::path kubeconfig_;
  kube::ClusterConfig config_;
};

}  // namespace virtsnap::testsupport
