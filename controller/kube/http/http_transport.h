#pragma once
// The Transport to a real API server over HTTPS, on cpprestsdk (kept out of this header: only
// http_transport.cpp includes it). One long-lived http_client per server, shared by every call and
// watch, so connections are pooled and reused; never a client per call (a new one only after a
// request failed unsent, below).
//
// Guarantees: the server's certificate is verified against the configuration's CA only (the
// system's roots when it names none; no verification with insecure-skip-tls-verify), and its name or
// IP against the URL (RFC 2818); a client certificate is presented when configured; the bearer token
// is asked of the TokenSource for every request, so a rotated token is used at once; every call has
// a deadline (RestRequest::timeout, counted from the call) after which it is reported as
// ErrorKind::Timeout, an answer that comes later included; a watch's cancel() returns a blocked next()
// at once. Neither cuts the connection from the caller's thread (that crashed cpprestsdk, issue 10):
// the exchange is abandoned and ends inside the library, a call when its answer comes (the connection
// is then reused), a watch at the next data the server sends; the client lives until then. A
// connection silent for `idleTimeout` is closed (a watch then fails with ErrorKind::Network), which
// bounds how long an abandoned exchange can hold one. A request that failed before its last byte went
// out (the server cannot have acted on it: typically the pooled connection to a server that
// restarted is dead) is sent once more, whatever its verb, on a fresh connection: the transport
// then starts a new http_client, so the old pool's other dead connections are not tried one by one.
// After its last byte went out a request is never sent again unless its verb is idempotent (GET,
// HEAD, OPTIONS, PUT, DELETE): cpprestsdk's own resend after a broken answer on a reused connection
// is stopped for POST and PATCH. No exception leaves.

#include <chrono>
#include <memory>

#include "controller/kube/api_client.h"
#include "controller/kube/kube_config.h"
#include "controller/kube/rest_client.h"
#include "controller/kube/transport.h"

namespace virtsnap::kube {

struct HttpTransportOptions {
  // Longer than the server's bookmark interval, so a healthy idle watch is never cut.
  std::chrono::seconds idleTimeout{300};
};

class HttpTransport final : public Transport {
 public:
  // Fails (ErrorKind::BadRequest) when the server URL or the TLS material cannot be used.
  static KubeResult<std::shared_ptr<HttpTransport>> create(const ClusterConfig& config,
                                                           HttpTransportOptions options = {});
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  KubeResult<RestResponse> send(const RestRequest& request) override;
  KubeResult<LineStreamPtr> stream(const RestRequest& request) override;

  class Impl;

 private:
  explicit HttpTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared with open streams, which may outlive the transport
};

// The REST client over HTTPS to the server `config` names.
KubeResult<ApiClientPtr> makeHttpApiClient(const ClusterConfig& config, RestClientOptions options = {},
                                           HttpTransportOptions transportOptions = {});

}  // namespace virtsnap::kube
