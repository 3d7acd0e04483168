#pragma once
// How the REST client reaches an API server: one request in, one answer out, or a stream of lines
// for watches. The HTTP transport (http_transport.h) speaks TLS to a real server; tests use an
// in-process transport over the embedded API server's handler. Transports move bytes and nothing
// else: no retries, no rate limits, no decoding of objects.
//
// Guarantees every Transport gives: no exception leaves it; network trouble comes back as
// ErrorKind::Network, a passed deadline as ErrorKind::Timeout, a cancelled stream as a clean end.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/kube/kube_error.h"

namespace virtsnap::kube {

struct RestRequest {
  std::string method;                                      // GET, POST, PUT, PATCH, DELETE
  std::string path;                                        // not percent-encoded: the transport encodes it
  std::vector<std::pair<std::string, std::string>> query;  // not encoded, in order
  std::map<std::string, std::string> headers;              // e.g. accept, user-agent
  std::string body;
  std::string contentType;  // of the body; empty without one
  // send(): the whole exchange; stream(): until the answer's headers are in. Zero: no deadline.
  std::chrono::milliseconds timeout{0};
};

struct RestResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names

  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
  }
};

// The body of a streamed answer, line by line as the server sends them.
class LineStream {
 public:
  virtual ~LineStream() = default;
  // Blocks for the next line (without its newline). nullopt: the stream ended cleanly (the server
  // closed it, or cancel() was called); an error: it broke (ErrorKind::Network).
  virtual KubeResult<std::optional<std::string>> next() = 0;
  // Ends the stream from any thread; a next() blocked in it returns nullopt promptly.
  virtual void cancel() = 0;
};

using LineStreamPtr = std::unique_ptr<LineStream>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Any HTTP status is a successful exchange here; the caller interprets it.
  virtual KubeResult<RestResponse> send(const RestRequest& request) = 0;
  // For watches: a 2xx answer opens the stream; any other status comes back as the KubeError that
  // errorFromResponse() (status_error.h) makes of it.
  virtual KubeResult<LineStreamPtr> stream(const RestRequest& request) = 0;
};

using TransportPtr = std::shared_ptr<Transport>;

}  // namespace virtsnap::kube
