#pragma once
// One embedded API server per test on the real HTTP front end, for clients this project did not write
// (kubectl, the official Python client, curl): HTTPS with a token and a kubeconfig at
// dir / "kubeconfig", or plain HTTP without authentication. Each test gets its own data directory,
// removed afterwards. stopServing() then serveAgain() is a restart: same data directory, port,
// certificate and token, so a client's kubeconfig stays valid. openWatches() is the number of watches
// the store is serving now, what a test waits on before it relies on a client watching.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"

namespace virtsnap::testsupport {

class ServedApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    stopServing();
    std::filesystem::remove_all(dir_);
  }

  // Starts the server on a fresh data directory; with `https`, a token and a kubeconfig.
  void serve(bool https) {
    dir_ = std::filesystem::temp_directory_path() /
           ("virtsnap-served-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto loaded = apiserver::ResourceRegistry::load(std::filesystem::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(loaded).value());
    if (https) {
      auto made = apiserver::makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
      ASSERT_TRUE(made.has_value()) << made.error();
      tls_ = made.value();
      token_ = apiserver::randomToken();
    }
    serveAgain();
  }

  // Starts the server again after stopServing(), on what serve() chose.
  void serveAgain() {
    auto opened = apiserver::MemoryObjectStore::open(dir_ / "store", *registry_, {}, {});
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<apiserver::ApiHandler>(*registry_, *store_, token_);
    server_ = std::make_unique<apiserver::HttpServer>(*handler_,
                                                      apiserver::HttpServerOptions{"127.0.0.1", port_, tls_});
    auto failed = server_->start();
    ASSERT_FALSE(failed.has_value()) << *failed;
    port_ = std::stoi(server_->url().substr(server_->url().rfind(':') + 1));
    if (tls_) {
      ASSERT_TRUE(
          apiserver::writeKubeconfig(dir_ / "kubeconfig", server_->url(), token_, tls_->caCertificatePem)
              .has_value());
    }
  }

  // Stops the server: open watches end, then the store closes.
  void stopServing() {
    if (server_) {
      server_->stop();
    }
    server_.reset();
    handler_.reset();
    store_.reset();
  }

  std::size_t openWatches() const { return store_ ? store_->watchCount() : 0; }

  std::filesystem::path dir_;
  std::optional<apiserver::TlsMaterial> tls_;
  std::string token_;
  int port_ = 0;  // 0 until the first start picks one
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  std::unique_ptr<apiserver::MemoryObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  std::unique_ptr<apiserver::HttpServer> server_;
};

}  // namespace virtsnap::testsupport
