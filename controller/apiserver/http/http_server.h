#pragma once
// The embedded API server on the network: cpprestsdk's http_listener in front of an ApiHandler.
// Loopback only unless told otherwise. Watches stream chunked JSON lines as events happen.

#include <memory>
#include <optional>
#include <string>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/http/tls_certificates.h"

namespace virtsnap::apiserver {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;                    // 0: a free one in 38000-38999 (see start())
  std::optional<TlsMaterial> tls;  // HTTPS with this certificate (kubectl sends tokens only over TLS)
};

class HttpServer {
 public:
  HttpServer(ApiHandler& handler, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts listening; an error message when it cannot.
  std::optional<std::string> start();
  // Where it listens (https://address:port, or http:// without TLS), once started.
  const std::string& url() const;
  // Stops listening and ends every open watch. (cpprestsdk closes the port itself only when the last
  // http_listener of the process closes: with two servers in one process, the first to stop still
  // accepts connections on its port until the other stops too.)
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace virtsnap::apiserver
