#pragma once
// One embedded API server per test on the real HTTP front end, for clients this project did not write:
// HTTPS with a token and a kubeconfig (the official clients), or plain HTTP without authentication
// (raw requests with curl). Each test gets its own data directory, removed afterwards.

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/http_server.h"
#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"

namespace virtsnap::apiserver {

class ServedApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server) {
      server->stop();
    }
    server.reset();
    handler.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // Starts the server; with `https`, a token and a kubeconfig at dir / "kubeconfig".
  void serve(bool https) {
    dir = std::filesystem::temp_directory_path() /
          ("virtsnap-served-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto loaded = ResourceRegistry::load(std::filesystem::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry = std::make_unique<ResourceRegistry>(std::move(loaded).value());
    auto opened = ObjectStore::open(dir / "store", *registry);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store = std::move(opened).value();
    std::optional<TlsMaterial> tls;
    std::string token;
    if (https) {
      auto made = makeSelfSignedTls({"127.0.0.1"}, {"localhost"});
      ASSERT_TRUE(made.has_value()) << made.error();
      tls = made.value();
      token = randomToken();
    }
    handler = std::make_unique<ApiHandler>(*registry, *store, token);
    server = std::make_unique<HttpServer>(*handler, HttpServerOptions{"127.0.0.1", 0, tls});
    auto failed = server->start();
    ASSERT_FALSE(failed.has_value()) << *failed;
    if (https) {
      ASSERT_TRUE(
          writeKubeconfig(dir / "kubeconfig", server->url(), token, tls->caCertificatePem).has_value());
    }
  }

  std::filesystem::path dir;
  std::unique_ptr<ResourceRegistry> registry;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<ApiHandler> handler;
  std::unique_ptr<HttpServer> server;
};

}  // namespace virtsnap::apiserver
