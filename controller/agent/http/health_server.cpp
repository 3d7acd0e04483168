#include "controller/agent/http/health_server.h"

#include <cpprest/http_listener.h>

namespace virtsnap::agent {

namespace http = web::http;

class HealthServer::Impl {
 public:
  Impl(std::string bindAddress, std::vector<ReadinessCheck> checks)
      : bindAddress_(std::move(bindAddress)), checks_(std::move(checks)) {}

  std::optional<std::string> start() {
    std::string address = bindAddress_;
    if (address.starts_with(":")) {
      address = "0.0.0.0" + address;
    }
    try {
      listener_ = std::make_unique<http::experimental::listener::http_listener>("http://" + address + "/");
      listener_->support(http::methods::GET, [this](const http::http_request& request) { answer(request); });
      listener_->open().wait();
    } catch (const std::exception& error) {
      listener_.reset();
      return "cannot serve health probes on " + bindAddress_ + ": " + error.what();
    }
    return std::nullopt;
  }

  void stop() {
    if (listener_) {
      try {
        listener_->close().wait();
      } catch (const std::exception&) {
        // closing a listener that failed is not an error worth more than its absence
      }
      listener_.reset();
    }
  }

 private:
  void answer(const http::http_request& request) const {
    const std::string path = request.relative_uri().path();
    if (path == "/healthz" || path == "/livez") {
      // Liveness has one check, as controller-runtime's healthz.Ping: the process answers.
      request.reply(http::status_codes::OK, "[+]ping ok\nhealthz check passed\n", "text/plain");
      return;
    }
    if (path != "/readyz") {
      request.reply(http::status_codes::NotFound, "not found", "text/plain");
      return;
    }
    std::string body;
    bool ready = true;
    for (const auto& [name, check] : checks_) {
      std::optional<std::string> problem = check();
      body += (problem ? "[-]" + name + " failed: " + *problem : "[+]" + name + " ok") + "\n";
      ready = ready && !problem;
    }
    body += ready ? "readyz check passed\n" : "readyz check failed\n";
    request.reply(ready ? http::status_codes::OK : http::status_codes::ServiceUnavailable, body,
                  "text/plain");
  }

  std::string bindAddress_;
  std::vector<ReadinessCheck> checks_;
  std::unique_ptr<http::experimental::listener::http_listener> listener_;
};

HealthServer::HealthServer(std::string bindAddress, std::vector<ReadinessCheck> checks)
    : impl_(std::make_unique<Impl>(std::move(bindAddress), std::move(checks))) {}

HealthServer::~HealthServer() {
  stop();
}

std::optional<std::string> HealthServer::start() {
  return impl_->start();
}

void HealthServer::stop() {
  impl_->stop();
}

}  // namespace virtsnap::agent
