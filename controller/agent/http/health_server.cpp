#include "controller/agent/http/health_server.h"

#include <cpprest/http_listener.h>

#include "controller/agent/web/web_assets.h"

namespace virtsnap::agent {

namespace http = ::web::http;  // cpprestsdk's (web:: below is the tree page's files)

namespace {

// The page runs only its own files and reads only tree.json from here; nothing inline, no frames.
constexpr const char* kPageSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void replyPagePart(const http::http_request& request, http::status_code status, std::string body,
                   const std::string& contentType) {
  http::http_response response(status);
  response.headers().add("Content-Security-Policy", kPageSecurityPolicy);
  response.headers().add("X-Content-Type-Options", "nosniff");
  response.headers().add("Referrer-Policy", "no-referrer");
  response.headers().add("Cache-Control", "no-store");
  response.set_body(std::move(body), contentType);
  request.reply(response);
}

}  // namespace

class HealthServer::Impl {
 public:
  Impl(std::string bindAddress, std::vector<ReadinessCheck> checks, TreePageSource treePage)
      : bindAddress_(std::move(bindAddress)), checks_(std::move(checks)), treePage_(std::move(treePage)) {}

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
    if (treePage_ && answerTreePage(request, path)) {
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

  // The tree page's paths; false for any other path.
  bool answerTreePage(const http::http_request& request, const std::string& path) const {
    if (path == "/tree" || path == "/tree/") {
      replyPagePart(request, http::status_codes::OK, std::string(web::kTreeHtml), "text/html; charset=utf-8");
    } else if (path == "/tree.js") {
      replyPagePart(request, http::status_codes::OK, std::string(web::kTreeJs),
                    "text/javascript; charset=utf-8");
    } else if (path == "/tree.css") {
      replyPagePart(request, http::status_codes::OK, std::string(web::kTreeCss), "text/css; charset=utf-8");
    } else if (path == "/tree.json") {
      try {
        replyPagePart(request, http::status_codes::OK, treePage_(), "application/json");
      } catch (const std::exception& error) {
        replyPagePart(request, http::status_codes::InternalError,
                      std::string("cannot read the trees: ") + error.what(), "text/plain; charset=utf-8");
      }
    } else {
      return false;
    }
    return true;
  }

  std::string bindAddress_;
  std::vector<ReadinessCheck> checks_;
  TreePageSource treePage_;
  std::unique_ptr<http::experimental::listener::http_listener> listener_;
};

HealthServer::HealthServer(std::string bindAddress, std::vector<ReadinessCheck> checks,
                           TreePageSource treePage)
    : impl_(std::make_unique<Impl>(std::move(bindAddress), std::move(checks), std::move(treePage))) {}

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
