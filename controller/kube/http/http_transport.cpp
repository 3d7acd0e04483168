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
// caller gave up waiting (hence shared). The first result wins: a later one is dropped. A result that
// came after the deadline is late even when the waiter (descheduled) only looks afterwards.
template <typename T>
class Outcome {
 public:
  void succeed(T value) { settle(KubeResult<T>(std::move(value))); }
  void fail(KubeError error) { settle(KubeResult<T>(std::move(error))); }
  // The value or error; nullopt when `deadline` passed first.
  std::optional<KubeResult<T>> waitUntil(Deadline deadline) {
    std::unique_lock lock(mutex_);
    const auto settled = [this] { return result_.has_value(); };
    if (deadline == Deadline::max()) {
      done_.wait(lock, settled);
    } else if (!done_.wait_until(lock, deadline, settled) || settledAt_ > deadline) {
      return std::nullopt;
    }
    return std::move(result_);
  }

 private:
  void settle(KubeResult<T> result) {
    {
      std::lock_guard lock(mutex_);
      if (result_) {
        return;
      }
      result_.emplace(std::move(result));
      settledAt_ = std::chrono::steady_clock::now();
    }
    done_.notify_all();
  }

  std::mutex mutex_;  // guards result_ and settledAt_
  std::condition_variable done_;
  std::optional<KubeResult<T>> result_;
  Deadline settledAt_;
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

// Why no exchange is ever cancelled or cut short from here (issue 10). cpprestsdk 2.10.18's asio client
// (Release/src/http/client/http_client_asio.cpp) ends a cancelled request with asio_connection::close(),
// run by the callback that start_http_request_flow registers on the request's cancellation token, on
// the thread that calls cancel(); its own timeout does the same from timeout_timer::handle_timeout on a
// pool thread. close() holds the connection's m_socket_lock, but the I/O does not: the library starts
// each read and write under that lock, and then boost::asio's composed operations (ssl::stream's io_op
// for the handshake and every TLS record, async_read_until, async_write) go on from their completion
// handlers on other pool threads, calling the socket's async_read_some/async_write_some without it. A
// close() that lands while such a continuation runs frees the socket's epoll descriptor_state
// (reactive_socket_service_base::close, cleanup_descriptor_data) under the feet of
// epoll_reactor::start_op: the SIGSEGV of microsoft/cpprestsdk#1547, hit here by the deadline of
// send() and stream() (cancel.cancel()) and by a watch's cancel() and destructor.
//
// So: requests carry no cancellation token, and a deadline or a cancel() only abandons the exchange.
// The caller gets its Timeout, or its next() returns, at once; the exchange finishes in the library on
// the library's own threads: a call when its answer comes (the connection then goes back to the pool),
// a watch at the next data the server sends, where the progress handler below throws and the library
// closes the connection itself from inside its read chain (asio_context::handle_chunk catches it into
// report_exception), with no other operation on that socket under way. Until then a continuation holds
// the Impl, so the http_client outlives every request it started, and the response whose body it
// reads. A server that never sends again is bounded by the watch's timeoutSeconds and by idleTimeout.

// What an exchange shares with the library's callbacks, which may run long after the caller returned.
struct Exchange {
  std::atomic<bool> abandoned{false};
  std::atomic<bool> written{false};        // the whole request went out (headers and body)
  std::atomic<bool> resendRefused{false};  // the library was stopped from sending it again
};
using ExchangePtr = std::shared_ptr<Exchange>;

// Whether sending the request twice means the same as sending it once (RFC 9110 9.2.2).
bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
}

// Why a request is sent at most once in this library after its last byte went out, and again, once,
// when it failed before. cpprestsdk 2.10.18's asio client calls a request's progress handler for
// uploads only after the request's headers were written (before each body chunk: the first with 0
// bytes) and once the whole request was written (with the body's length; the only call for a
// request without a body). A failure with no such last call failed while connecting or while the
// request was still being written: the server never had the whole request and cannot have acted on
// it, so it may be sent again whatever its verb (the common case: the pooled connection to a server
// that restarted is dead, the write hits EPIPE). After the last call the server may have it. The
// library itself sends a request again when reading the answer on a reused connection fails
// (asio_context::handle_failed_read_status_line), with the same progress handler: an upload call
// after the last one is that resend, which is let through for idempotent verbs and stopped for the
// others by throwing (the library ends the exchange inside its own chain, as for an abandoned watch,
// before the resend's body went out).
//
// The library calls the handler on its own I/O thread each time data goes out or comes in, and turns
// an exception from it into the end of the exchange and the close of its connection. (A copy of an
// http_request shares its state with the original.)
void watchProgress(http::http_request request, const ExchangePtr& exchange, std::uint64_t length,
                   bool resendable) {
  request.set_progress_handler(
      [exchange, length, resendable](http::message_direction::direction direction, utility::size64_t bytes) {
        if (exchange->abandoned.load()) {
          throw std::runtime_error("abandoned by the caller");
        }
        if (direction != http::message_direction::upload) {
          return;
        }
        if (exchange->written.load()) {  // the library is sending the whole request again
          if (!resendable) {
            exchange->resendRefused = true;
            throw std::runtime_error(
                "the connection broke after the whole request was sent, and a non-idempotent request is not "
                "sent twice: the server may have acted on it");
          }
          exchange->written = false;
        }
        if (bytes >= length) {
          exchange->written = true;
        }
      });
}

// Whether a failed exchange can be tried again on a fresh connection: it failed before the whole
// request was written (see above), with a network error (not the caller's deadline).
bool unsent(const KubeError& error, const Exchange& exchange) {
  return error.kind == ErrorKind::Network && !exchange.written.load() && !exchange.resendRefused.load();
}

}  // namespace

class HttpTransport::Impl : public std::enable_shared_from_this<HttpTransport::Impl> {
 public:
  using ClientPtr = std::shared_ptr<http::client::http_client>;

  Impl(const ClusterConfig& config, http::client::http_client_config clientConfig,
       std::shared_ptr<TlsDiagnostics> tls)
      : server_(config.server),
        peer_{config.server, std::move(tls)},
        tokens_(config.tokenSource),
        clientConfig_(std::move(clientConfig)),
        client_(std::make_shared<http::client::http_client>(config.server, clientConfig_)) {}

  KubeResult<RestResponse> send(const RestRequest& request) {
    const Deadline deadline = deadlineOf(request);  // from the call, not from when the request is out
    auto exchange = std::make_shared<Exchange>();
    ClientPtr client = this->client();
    auto result = sendOnce(*client, request, deadline, exchange);
    if (!result && unsent(result.error(), *exchange)) {
      // The server never had it: once more, on a fresh connection (see renew()).
      client = renew(client);
      exchange = std::make_shared<Exchange>();
      result = sendOnce(*client, request, deadline, exchange);
    }
    return result;
  }

  KubeResult<LineStreamPtr> stream(const RestRequest& request);

  const std::string& server() const { return server_; }

 private:
  KubeResult<RestResponse> sendOnce(http::client::http_client& client, const RestRequest& request,
                                    Deadline deadline, const ExchangePtr& exchange) {
    try {
      auto built = build(request);
      if (!built) {
        return built.error();
      }
      watchProgress(built.value(), exchange, request.body.size(), idempotent(request.method));
      auto outcome = std::make_shared<Outcome<RestResponse>>();
      client.request(built.value())
          .then([](http::http_response response) {
            return response.extract_vector().then(
                [response](std::vector<unsigned char> body) { return toRestResponse(response, body); });
          })
          .then([outcome, peer = peer_, self = shared_from_this()](pplx::task<RestResponse> done) {
            settle(done, *outcome, peer);
          });
      auto result = outcome->waitUntil(deadline);
      if (!result) {
        return timeoutError(request, server_);  // abandoned: see the note above
      }
      return std::move(*result);
    } catch (const std::exception& e) {
      return fromException(e.what(), server_);
    }
  }

  // The http_client for the next exchange. Every exchange keeps the one it started on alive (its
  // continuations hold it) until the library is done with it.
  ClientPtr client() {
    std::lock_guard lock(mutex_);
    return client_;
  }

  // After an exchange failed unsent on `failed`, a client with an empty pool: its first exchange
  // opens a fresh connection, and the others the old pool holds (dead too, when the server
  // restarted) are not tried one by one. Nothing is closed from here: the old client's idle pooled
  // connections close when the last exchange holding it ends (none has I/O under way), as when the
  // transport goes.
  ClientPtr renew(const ClientPtr& failed) {
    std::lock_guard lock(mutex_);
    if (client_ == failed) {
      client_ = std::make_shared<http::client::http_client>(server_, clientConfig_);
    }
    return client_;
  }

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

  KubeResult<LineStreamPtr> streamOnce(const ClientPtr& client, const RestRequest& request, Deadline deadline,
                                       const ExchangePtr& exchange);

  const std::string server_;
  const Peer peer_;
  const TokenSourcePtr tokens_;
  const http::client::http_client_config clientConfig_;
  std::mutex mutex_;  // guards client_
  ClientPtr client_;  // one per server at a time, replaced only after an exchange failed unsent
};

namespace {

// The body of a watch answer, line by line as chunks arrive. cancel() abandons the exchange (see the
// note above) and wakes a next() waiting for a line; the library ends the connection on its side.
class HttpLineStream final : public LineStream {
 public:
  HttpLineStream(std::shared_ptr<HttpTransport::Impl> owner,
                 std::shared_ptr<http::client::http_client> client, http::http_response response,
                 ExchangePtr exchange)
      : owner_(std::move(owner)),
        client_(std::move(client)),
        response_(std::move(response)),
        body_(response_.body()),
        exchange_(std::move(exchange)) {}
  ~HttpLineStream() override { cancel(); }
  HttpLineStream(const HttpLineStream&) = delete;
  HttpLineStream& operator=(const HttpLineStream&) = delete;

  KubeResult<std::optional<std::string>> next() override {
    auto read = std::make_shared<Outcome<std::optional<std::string>>>();
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) {
        return std::optional<std::string>();
      }
      reading_ = read;
    }
    try {
      // The read's continuation holds the body and the line: it may finish after this stream is gone.
      concurrency::streams::container_buffer<std::vector<uint8_t>> line;
      body_.read_line(line).then(
          [read, line, body = body_, server = owner_->server()](pplx::task<std::size_t> done) {
            try {
              if (done.get() == 0 && body.is_eof()) {
                read->succeed(std::nullopt);
              } else {
                read->succeed(std::string(line.collection().begin(), line.collection().end()));
              }
            } catch (const std::exception& e) {
              read->fail(fromException(e.what(), server));
            } catch (...) {
              read->fail(makeError(ErrorKind::Network, "an unknown error reading from " + server));
            }
          });
    } catch (const std::exception& e) {
      read->fail(fromException(e.what(), owner_->server()));
    }
    auto result = std::move(*read->waitUntil(Deadline::max()));
    std::lock_guard lock(mutex_);
    reading_.reset();
    if (cancelled_) {
      return std::optional<std::string>();
    }
    if (!result.has_value()) {
      KubeError broken = result.error();
      broken.kind = ErrorKind::Network;  // an idle cut is a broken watch, to be resumed like any other
      broken.message = "the watch stream broke: " + broken.message;
      return broken;
    }
    return result;
  }

  void cancel() override {
    exchange_->abandoned = true;
    std::shared_ptr<Outcome<std::optional<std::string>>> reading;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      reading = reading_;
    }
    if (reading) {
      reading->succeed(std::nullopt);
    }
  }

 private:
  std::shared_ptr<HttpTransport::Impl> owner_;
  std::shared_ptr<http::client::http_client> client_;  // the stream's client (and its connection pool)
  http::http_response response_;
  concurrency::streams::istream body_;
  ExchangePtr exchange_;
  std::mutex mutex_;  // guards cancelled_ and reading_
  bool cancelled_ = false;
  std::shared_ptr<Outcome<std::optional<std::string>>> reading_;  // what a next() waits on
};

}  // namespace

KubeResult<LineStreamPtr> HttpTransport::Impl::stream(const RestRequest& request) {
  const Deadline deadline = deadlineOf(request);
  auto exchange = std::make_shared<Exchange>();
  ClientPtr client = this->client();
  auto result = streamOnce(client, request, deadline, exchange);
  if (!result && unsent(result.error(), *exchange)) {
    // The server never had it: once more, on a fresh connection (as send() does).
    client = renew(client);
    exchange = std::make_shared<Exchange>();
    result = streamOnce(client, request, deadline, exchange);
  }
  return result;
}

KubeResult<LineStreamPtr> HttpTransport::Impl::streamOnce(const ClientPtr& client, const RestRequest& request,
                                                          Deadline deadline, const ExchangePtr& exchange) {
  try {
    auto built = build(request);
    if (!built) {
      return built.error();
    }
    watchProgress(built.value(), exchange, request.body.size(), idempotent(request.method));
    auto headers = std::make_shared<Outcome<http::http_response>>();
    // The request's task completes with the headers; the body keeps streaming into response.body().
    // The Impl and the http_client stay alive until the body has ended.
    client->request(built.value())
        .then(
            [headers, peer = peer_, self = shared_from_this(), client](pplx::task<http::http_response> done) {
              settle(done, *headers, peer);
              try {
                done.get().content_ready().then([self, client](pplx::task<http::http_response> ended) {
                  try {
                    ended.wait();
                  } catch (const std::exception&) {
                    // The body broke or was abandoned: the reader (if any) was told.
                  }
                });
              } catch (const std::exception&) {
                // No answer at all: nothing streams.
              }
            });
    auto answered = headers->waitUntil(deadline);
    if (!answered) {
      exchange->abandoned = true;
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
        exchange->abandoned = true;
        return timeoutError(request, server_);
      }
      const std::string text =
          read->has_value() ? std::string(read->value().begin(), read->value().end()) : "";
      auto retryAfter = response.headers().find("Retry-After");
      return errorFromResponse(response.status_code(), text,
                               retryAfter == response.headers().end() ? "" : retryAfter->second);
    }
    return LineStreamPtr(
        std::make_unique<HttpLineStream>(shared_from_this(), client, std::move(response), exchange));
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
