#pragma once
// The embedded API server as a process of its own (the virtsnap-apiserver binary), so that it outlives
// the agents a test starts, kills and starts again against it; with an HTTP client on the kubeconfig it
// writes, and helpers for the agent processes' flags and probes.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/expected.h"
#include "controller/kube/http/http_transport.h"
#include "controller/kube/kube_config.h"
#include "crds/meta/resource_type.h"
#include "tests/support/agent_process.h"
#include "tests/support/eventually.h"
#include "tests/support/free_port.h"
#include "tests/support/shell_command.h"

namespace virtsnap::testsupport {

class ApiServerProcess {
 public:
  // Starts the server on `dir`/data and waits for its kubeconfig; then creates `namespaces`. On `port`
  // when given (a server to be restarted must come back where its clients look), else on a free one.
  static Expected<std::unique_ptr<ApiServerProcess>, std::string> start(
      const std::filesystem::path& dir, const std::vector<std::string>& namespaces, int port = 0) {
    std::unique_ptr<ApiServerProcess> server(new ApiServerProcess(dir));
    server->arguments_ = {"--crd-dir",  std::string(VIRTSNAP_SOURCE_DIR) + "/crds",
                          "--data-dir", (dir / "data").string(),
                          "--port",     std::to_string(port)};
    if (!server->process_.start(server->arguments_)) {
      return unexpected(std::string("cannot fork the API server"));
    }
    if (!eventually([&] { return std::filesystem::exists(server->kubeconfig()); },
                    std::chrono::seconds(30))) {
      return unexpected("the API server wrote no kubeconfig:\n" + server->process_.output());
    }
    kube::ConfigSearch search;
    search.kubeconfigFlag = server->kubeconfig().string();
    auto config = kube::loadClusterConfig(search);
    if (!config) {
      return unexpected("its kubeconfig does not load: " + config.error());
    }
    kube::RestClientOptions options;
    options.qps = 0;  // the test's reads are not the agent's to throttle
    options.userAgent = "virtsnap-test";
    auto client = kube::makeHttpApiClient(config.value(), options);
    if (!client) {
      return unexpected("no client: " + client.error().message);
    }
    server->client_ = client.value();
    for (const std::string& ns : namespaces) {
      nlohmann::json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      auto created = server->client_->create(meta::resources::namespaces(), object, {});
      if (!created) {
        return unexpected("creating namespace " + ns + ": " + created.error().message);
      }
    }
    return server;
  }

  // SIGKILLs the server (what it acknowledged must be on disk already) and starts it again on the same
  // data and port; true once it answers again, within `limit`.
  bool restart(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    process_.kill();
    if (!process_.start(arguments_)) {
      return false;
    }
    return eventually([&] { return client_->list(meta::resources::namespaces(), "", {}).has_value(); },
                      limit);
  }

  std::filesystem::path kubeconfig() const { return dir_ / "data" / "kubeconfig"; }
  const kube::ApiClientPtr& client() const { return client_; }
  std::string output() const { return process_.output(); }

 private:
  explicit ApiServerProcess(std::filesystem::path dir)
      : dir_(std::move(dir)), process_(VIRTSNAP_APISERVER_BINARY, dir_ / "apiserver.log") {}

  std::filesystem::path dir_;
  std::vector<std::string> arguments_;
  AgentProcess process_;
  kube::ApiClientPtr client_;
};

// The HTTP status of GET http://127.0.0.1:<port><path> (0 when nothing answers), and its body.
struct HttpAnswer {
  int status = 0;
  std::string body;
};

inline HttpAnswer httpGet(int port, const std::string& path) {
  // curl prints the body, then the status on a line of its own.
  ShellResult run =
      runShell("curl -s --max-time 5 -w '\\n%{http_code}' http://127.0.0.1:" + std::to_string(port) + path);
  HttpAnswer answer;
  const auto newline = run.output.rfind('\n');
  if (newline != std::string::npos) {
    answer.body = run.output.substr(0, newline);
    answer.status = std::atoi(run.output.c_str() + newline + 1);
  }
  return answer;
}

}  // namespace virtsnap::testsupport
