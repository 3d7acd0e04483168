#pragma once
// The embedded API server stood up for one test (or one benchmark run): a fresh temporary data dir,
// the CRDs from VIRTSNAP_SOURCE_DIR "/crds", an ObjectStore (in memory, or the durable one with its
// write-ahead log), an ApiHandler checking a bearer token, the namespaces asked for, and a RestClient
// on an InProcessTransport into that handler.
//
// Guarantees: start() either returns a server that is fully up (namespaces created) or the reason it
// is not, as a value, so gtest fixtures ASSERT on it and benchmarks exit on it. The destructor tears
// down in dependency order (client, transport, handler, store) and removes the data dir. Callers must
// stop whatever still uses the client (recorders, electors, informers) before destroying it.
// The HTTPS front for integration tests is tests/support/embedded_https_server.h.

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "base/expected.h"
#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_store.h"
#include "controller/kube/rest_client.h"
#include "tests/support/in_process_transport.h"

namespace virtsnap::testsupport {

struct EmbeddedApiServerOptions {
  // The data dir is temp_directory_path() / (dirPrefix + a random suffix).
  std::string dirPrefix = "virtsnap-apiserver";
  // Empty: the handler accepts requests without a token.
  std::string token;
  // true: ObjectStore::open, every write fsynced to the log (what production runs); false: the
  // MemoryObjectStore with `store` options (bookmark interval, history size).
  bool durable = false;
  apiserver::StoreOptions store;
  // Options of the in-process client (qps = 0 for tests whose only clock is a FakeClock).
  kube::RestClientOptions client;
  // Created through the in-process client before start() returns.
  std::vector<std::string> namespaces;
};

class EmbeddedApiServer {
 public:
  using Started = Expected<std::unique_ptr<EmbeddedApiServer>, std::string>;

  static Started start(const EmbeddedApiServerOptions& options) {
    std::unique_ptr<EmbeddedApiServer> server(new EmbeddedApiServer());
    std::random_device random;
    server->dir_ = std::filesystem::temp_directory_path() /
                   (options.dirPrefix + "-" + std::to_string(random()) + std::to_string(random()));
    std::error_code failed;
    std::filesystem::create_directories(server->dir_, failed);
    if (failed) {
      return "cannot create " + server->dir_.string() + ": " + failed.message();
    }
    auto loaded = apiserver::ResourceRegistry::load(std::filesystem::path(VIRTSNAP_SOURCE_DIR) / "crds");
    if (!loaded.has_value()) {
      return "cannot load the CRDs: " + loaded.error();
    }
    server->registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(loaded).value());
    if (options.durable) {
      auto opened = apiserver::ObjectStore::open(server->dir_ / "store", *server->registry_);
      if (!opened.has_value()) {
        return "cannot open the store: " + opened.error();
      }
      server->store_ = std::move(opened).value();
    } else {
      auto opened =
          apiserver::MemoryObjectStore::open(server->dir_ / "store", *server->registry_, {}, options.store);
      if (!opened.has_value()) {
        return "cannot open the store: " + opened.error();
      }
      server->store_ = std::move(opened).value();
    }
    server->token_ = options.token;
    server->handler_ =
        std::make_unique<apiserver::ApiHandler>(*server->registry_, *server->store_, options.token);
    server->transport_ = std::make_shared<InProcessTransport>(*server->handler_, options.token);
    server->client_ = std::make_shared<kube::RestClient>(server->transport_, options.client);
    for (const std::string& ns : options.namespaces) {
      auto created = server->client_->create(
          meta::resources::namespaces(),
          nlohmann::json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}},
          kube::WriteOptions{});
      if (!created.has_value()) {
        return "cannot create namespace " + ns + ": " + created.error().describe();
      }
    }
    return Started(std::move(server));
  }

  EmbeddedApiServer(const EmbeddedApiServer&) = delete;
  EmbeddedApiServer& operator=(const EmbeddedApiServer&) = delete;

  ~EmbeddedApiServer() {
    client_.reset();
    transport_.reset();
    handler_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& token() const { return token_; }
  apiserver::ObjectStore& store() { return *store_; }
  apiserver::ApiHandler& handler() { return *handler_; }
  const std::shared_ptr<InProcessTransport>& transport() const { return transport_; }
  const std::shared_ptr<kube::RestClient>& client() const { return client_; }

 private:
  EmbeddedApiServer() = default;

  std::filesystem::path dir_;
  std::string token_;
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  std::unique_ptr<apiserver::ObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  std::shared_ptr<InProcessTransport> transport_;
  std::shared_ptr<kube::RestClient> client_;
};

}  // namespace virtsnap::testsupport
