#include "controller/kube/http/http_transport.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <system_error>

#include <boost/asio/ssl.hpp>
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "controller/kube/status_error.h"

namespace virtsnap::kube {

namespace http = web::http;

namespace {

using Deadline = std::chrono::steady_clock::time_point;

KubeError makeError(ErrorKind kind, std::string message) {
  KubeError error;
  error.kind = kind;
  error.message = std::move(message);
  return error;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 percent-encoding of everything but unreserved characters (and '/' in paths).
std::string percentEncode(const std::string& text, bool keepSlash) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (unreserved(c) || (keepSlash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 15U];
    }
  }
  return out;
}

std::string target(const RestRequest& request) {
  std::string out = percentEncode(request.path, /*keepSlash=*/true);
  char separator = '?';
  for (const auto& [key, value] : request.query) {
    out += separator + percentEncode(key, false) + "=" + percentEncode(value, false);
    separator = '&';
  }
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// What an exception out of cpprestsdk means for the caller.
KubeError fromException(const std::string& what, const std::string& server, std::error_code code = {}) {
  if (code == std::errc::timed_out) {
    return makeError(ErrorKind::Timeout, "the connection to " + server + " was idle too long: " + what);
  }
  const std::string text = lower(what);
  if (text.find("handshake") != std::string::npos || text.find("certificate") != std::string::npos ||
      text.find("ssl") != std::string::npos || text.find("tls") != std::string::npos) {
    return makeError(
        ErrorKind::Network,
        "TLS with " + server + " failed (is the server's certificate signed by the configured CA?): " + what);
  }
  return makeError(ErrorKind::Network, "cannot talk to " + server + ": " + what);
}

// Why OpenSSL refused the server's chain the last time (cpprestsdk reports only "Error in SSL
// handshake"). One server per transport, so the last failure is the one a handshake error is about.
class TlsDiagnostics {
 public:
  void record(std::string reason) {
    std::lock_guard lock(mutex_);
    last_ = std::move(reason);
  }
  std::string last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  mutable std::mutex mutex_;  // guards last_
  std::string last_;
};

// OpenSSL's whole-chain verification, run as usual (asio's per-certificate RFC 2818 host check
// included), with the reason for a failure recorded.
int verifyChain(X509_STORE_CTX* store, void* diagnostics) {
  const int verified = X509_verify_cert(store);
  if (verified <= 0) {
    const int error = X509_STORE_CTX_get_error(store);
    static_cast<TlsDiagnostics*>(diagnostics)
        ->record(error == X509_V_OK
                     ? "the certificate does not name the server's host"
                     : std::string("certificate verify failed: ") + X509_verify_cert_error_string(error));
  }
  return verified;
}

// The server and what is known about its TLS, for error messages.
struct Peer {
  std::string server;
  std::shared_ptr<TlsDiagnostics> tls;
};

std::string describe(const http::http_exception& e, const Peer& peer) {
  const std::string text = e.what();
  if (text.find("SSL") != std::string::npos || text.find("handshake") != std::string::npos) {
    const std::string reason = peer.tls->last();
    return reason.empty() ? text : text + ": " + reason;
  }
  return e.error_code().value() == 0 ? text : text + " (" + e.error_code().message() + ")";
}

// Configures a TLS context from the cluster's material. Throws boost::system::system_error on bad
// PEM, which create() checks once up front so the connection-time callback never throws.
void configureTls(boost::asio::ssl::context& context, const ClusterConfig& config,
                  TlsDiagnostics* diagnostics) {
  context.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                      boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                      boost::asio::ssl::context::no_tlsv1_1);
  if (!config.caPem.empty()) {
    // Only the configured CA, as client-go does: drop the system roots cpprestsdk loaded.
    SSL_CTX_set_cert_store(context.native_handle(), X509_STORE_new());
    context.add_certificate_authority(boost::asio::buffer(config.caPem));
  }
  SSL_CTX_set_cert_verify_callback(context.native_handle(), verifyChain, diagnostics);
  if (!config.clientCertificatePem.empty()) {
    context.use_certificate_chain(boost::asio::buffer(config.clientCertificatePem));
    context.use_private_key(boost::asio::buffer(config.clientKeyPem), boost::asio::ssl::context::pem);
  }
}

// The outcome of an asynchronous exchange, filled in by its continuation, which may run after the
// caller gave up waiting (hence shared).
template <typename T>
class Outcome {
 public:
  void succeed(T value) {
    {
      std::lock_guard lock(mutex_);
      value_.emplace(std::move(value));
    }
    done_.notify_all();
  }
  void fail(KubeError error) {
    {
      std::lock_guard lock(mutex_);
      error_.emplace(std::move(error));
    }
    done_.notify_all();
  }
  // The value or error; nullopt when `deadline` passed first.
  std::optional<KubeResult<T>> waitUntil(Deadline deadline) {
    std::unique_lock lock(mutex_);
    if (!done_.wait_until(lock, deadline, [this] { return value_ || error_; })) {
      return std::nullopt;
    }
    if (error_) {
      return KubeResult<T>(*error_);
    }
    return KubeResult<T>(std::move(*value_));
  }

 private:
  std::mutex mutex_;  // guards value_ and error_
  std::condition_variable done_;
  std::optional<T> value_;
  std::optional<KubeError> error_;
};

// Routes every exception a task can end with into `outcome`.
template <typename T>
void settle(pplx::task<T>& task, Outcome<T>& outcome, const Peer& peer) {
  const std::string& server = peer.server;
  try {
    outcome.succeed(task.get());
  } catch (const http::http_exception& e) {
    outcome.fail(fromException(describe(e, peer), server, e.error_code()));
  } catch (const pplx::task_canceled&) {
    outcome.fail(makeError(ErrorKind::Cancelled, "the request to " + server + " was cancelled"));
  } catch (const std::exception& e) {
    outcome.fail(fromException(e.what(), server));
  } catch (...) {
    outcome.fail(makeError(ErrorKind::Network, "an unknown error talking to " + server));
  }
}

Deadline deadlineOf(const RestRequest& request) {
  return request.timeout.count() > 0 ? std::chrono::steady_clock::now() + request.timeout : Deadline::max();
}

KubeError timeoutError(const RestRequest& request, const std::string& server) {
  KubeError error = makeError(ErrorKind::Timeout, request.method + " " + request.path + " on " + server +
                                                      ": no answer within " +
                                                      std::to_string(request.timeout.count()) + " ms");
  return error;
}

RestResponse toRestResponse(const http::http_response& response, const std::vector<unsigned char>& body) {
  RestResponse out;
  out.status = response.status_code();
  out.body.assign(body.begin(), body.end());
  for (const auto& [name, value] : response.headers()) {
    out.headers[lower(name)] = value;
  }
  return out;
}

}  // namespace

class HttpTransport::Impl : public std::enable_shared_from_this<HttpTransport::Impl> {
 public:
  Impl(const ClusterConfig& config, const http::client::http_client_config& clientConfig,
       std::shared_ptr<TlsDiagnostics> tls)
      : server_(config.server),
        peer_{config.server, std::move(tls)},
        tokens_(config.tokenSource),
        client_(config.server, clientConfig) {}

  KubeResult<RestResponse> send(const RestRequest& request) {
    try {
      auto built = build(request);
      if (!built) {
        return built.error();
      }
      pplx::cancellation_token_source cancel;
      auto outcome = std::make_shared<Outcome<RestResponse>>();
      client_.request(built.value(), cancel.get_token())
          .then([](http::http_response response) {
            return response.extract_vector().then(
                [response](std::vector<unsigned char> body) { return toRestResponse(response, body); });
          })
          .then([outcome, peer = peer_](pplx::task<RestResponse> done) { settle(done, *outcome, peer); });
      auto result = outcome->waitUntil(deadlineOf(request));
      if (!result) {
        cancel.cancel();  // closes the connection; the continuation still runs, into the shared outcome
        return timeoutError(request, server_);
      }
      return std::move(*result);
    } catch (const std::exception& e) {
      return fromException(e.what(), server_);
    }
  }

  KubeResult<LineStreamPtr> stream(const RestRequest& request);

  const std::string& server() const { return server_; }

 private:
  // Wraps the request; the token is asked for on every call, so a rotated one is used at once.
  KubeResult<http::http_request> build(const RestRequest& request) {
    http::http_request out(request.method);
    out.set_request_uri(web::uri(target(request)));
    for (const auto& [name, value] : request.headers) {
      out.headers().add(name, value);
    }
    if (tokens_) {
      auto token = tokens_->token();
      if (!token) {
        return token.error();
      }
      out.headers().add("Authorization", "Bearer " + token.value());
    }
    if (!request.body.empty() || !request.contentType.empty()) {
      out.set_body(request.body, request.contentType.empty() ? "application/json" : request.contentType);
    }
    return out;
  }

  const std::string server_;
  const Peer peer_;
  const TokenSourcePtr tokens_;
  http::client::http_client client_;  // one per server, for the transport's whole life
};

namespace {

// The body of a watch answer, line by line as chunks arrive. cancel() cancels the request, which
// closes its connection: a read blocked on it fails at once and is reported as the clean end.
class HttpLineStream final : public LineStream {
 public:
  HttpLineStream(std::shared_ptr<HttpTransport::Impl> owner, http::http_response response,
                 pplx::cancellation_token_source cancel)
      : owner_(std::move(owner)),
        response_(std::move(response)),
        body_(response_.body()),
        cancel_(std::move(cancel)) {}
  ~HttpLineStream() override { cancel(); }
  HttpLineStream(const HttpLineStream&) = delete;
  HttpLineStream& operator=(const HttpLineStream&) = delete;

  KubeResult<std::optional<std::string>> next() override {
    if (cancelled_) {
      return std::optional<std::string>();
    }
    try {
      concurrency::streams::container_buffer<std::vector<uint8_t>> line;
      const std::size_t read = body_.read_line(line).get();
      if (cancelled_ || (read == 0 && body_.is_eof())) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(std::string(line.collection().begin(), line.collection().end()));
    } catch (const std::exception& e) {
      if (cancelled_) {
        return std::optional<std::string>();
      }
      KubeError broken = fromException(e.what(), owner_->server());
      broken.kind = ErrorKind::Network;  // an idle cut is a broken watch, to be resumed like any other
      broken.message = "the watch stream broke: " + broken.message;
      return broken;
    }
  }

  void cancel() override {
    cancelled_ = true;
    cancel_.cancel();
  }

 private:
  std::shared_ptr<HttpTransport::Impl> owner_;  // keeps the client (and its connection pool) alive
  http::http_response response_;
  concurrency::streams::istream body_;
  pplx::cancellation_token_source cancel_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

KubeResult<LineStreamPtr> HttpTransport::Impl::stream(const RestRequest& request) {
  try {
    auto built = build(request);
    if (!built) {
      return built.error();
    }
    pplx::cancellation_token_source cancel;
    auto headers = std::make_shared<Outcome<http::http_response>>();
    // The request's task completes with the headers; the body keeps streaming into response.body().
    client_.request(built.value(), cancel.get_token())
        .then(
            [headers, peer = peer_](pplx::task<http::http_response> done) { settle(done, *headers, peer); });
    const Deadline deadline = deadlineOf(request);
    auto answered = headers->waitUntil(deadline);
    if (!answered) {
      cancel.cancel();
      return timeoutError(request, server_);
    }
    if (!answered->has_value()) {
      return answered->error();
    }
    http::http_response response = answered->value();
    if (response.status_code() < 200 || response.status_code() > 299) {
      auto body = std::make_shared<Outcome<std::vector<unsigned char>>>();
      response.extract_vector().then(
          [body, peer = peer_](pplx::task<std::vector<unsigned char>> done) { settle(done, *body, peer); });
      auto read = body->waitUntil(deadline);
      if (!read) {
        cancel.cancel();
        return timeoutError(request, server_);
      }
      const std::string text =
          read->has_value() ? std::string(read->value().begin(), read->value().end()) : "";
      auto retryAfter = response.headers().find("Retry-After");
      return errorFromResponse(response.status_code(), text,
                               retryAfter == response.headers().end() ? "" : retryAfter->second);
    }
    return LineStreamPtr(std::make_unique<HttpLineStream>(shared_from_this(), std::move(response), cancel));
  } catch (const std::exception& e) {
    return fromException(e.what(), server_);
  }
}

KubeResult<std::shared_ptr<HttpTransport>> HttpTransport::create(const ClusterConfig& config,
                                                                 HttpTransportOptions options) {
  try {
    const web::uri server(config.server);
    const std::string scheme = lower(server.scheme());
    if ((scheme != "https" && scheme != "http") || server.host().empty()) {
      return makeError(ErrorKind::BadRequest, "the server \"" + config.server + "\" is not an http(s) URL");
    }
    if (scheme == "http" && config.tokenSource) {
      return makeError(ErrorKind::BadRequest,
                       "refusing to send a bearer token over plain http to " + config.server + "; use https");
    }
    // Shared by the TLS callback, which the client keeps for as long as any connection lives.
    auto tls = std::make_shared<TlsDiagnostics>();
    http::client::http_client_config clientConfig;
    clientConfig.set_timeout(options.idleTimeout);
    clientConfig.set_validate_certificates(!config.insecureSkipTlsVerify);
    if (scheme == "https") {
      {
        // Bad PEM fails here, with a message, rather than inside a connection attempt.
        boost::asio::ssl::context probe(boost::asio::ssl::context::sslv23);
        TlsDiagnostics unused;
        configureTls(probe, config, &unused);
      }
      clientConfig.set_ssl_context_callback(
          [config, tls](boost::asio::ssl::context& context) { configureTls(context, config, tls.get()); });
    }
    auto impl = std::make_shared<Impl>(config, clientConfig, tls);
    return std::shared_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
  } catch (const std::exception& e) {
    return makeError(ErrorKind::BadRequest, "cannot use the configuration for " + config.server + " (" +
                                                config.origin + "): " + e.what());
  }
}

HttpTransport::HttpTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpTransport::~HttpTransport() = default;

KubeResult<RestResponse> HttpTransport::send(const RestRequest& request) {
  return impl_->send(request);
}

KubeResult<LineStreamPtr> HttpTransport::stream(const RestRequest& request) {
  return impl_->stream(request);
}

KubeResult<ApiClientPtr> makeHttpApiClient(const ClusterConfig& config, RestClientOptions options,
                                           HttpTransportOptions transportOptions) {
  auto transport = HttpTransport::create(config, transportOptions);
  if (!transport) {
    return transport.error();
  }
  return ApiClientPtr(std::make_shared<RestClient>(std::move(transport).value(), std::move(options)));
}

}  // namespace virtsnap::kube
