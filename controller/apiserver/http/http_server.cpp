#include "controller/apiserver/http/http_server.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <cpprest/http_listener.h>
#include <cpprest/producerconsumerstream.h>
#include <unistd.h>

#include "controller/apiserver/validation/request_body.h"

namespace virtsnap::apiserver {

namespace http = web::http;
using web::http::experimental::listener::http_listener;

class HttpServer::Impl {
 public:
  Impl(ApiHandler& handler, HttpServerOptions options) : handler_(handler), options_(std::move(options)) {}

  ~Impl() { stop(); }

  std::optional<std::string> start() {
    // Without a port, the first free one in 38000-38999 from an offset per process: servers of
    // processes started side by side (tests under ctest -j) do not all race for the same ports, and a
    // server restarted on its port is not beaten to it by another process's search.
    const int tries = options_.port != 0 ? 1 : 1000;
    const int offset = static_cast<int>(getpid() % 1000);
    std::string lastError;
    for (int i = 0; i < tries; ++i) {
      const int port = options_.port != 0 ? options_.port : 38000 + (offset + i) % 1000;
      const std::string url =
          std::string(options_.tls ? "https://" : "http://") + options_.address + ":" + std::to_string(port);
      try {
        web::http::experimental::listener::http_listener_config config;
        if (options_.tls) {
          config.set_ssl_context_callback([tls = *options_.tls](boost::asio::ssl::context& context) {
            context.set_options(boost::asio::ssl::context::default_workarounds |
                                boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                                boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
            context.use_certificate_chain(boost::asio::buffer(tls.certificatePem));
            context.use_private_key(boost::asio::buffer(tls.privateKeyPem), boost::asio::ssl::context::pem);
          });
        }
        auto listener = std::make_unique<http_listener>(url, config);
        listener->support([this](http::http_request request) { serve(std::move(request)); });
        listener->open().wait();
        listener_ = std::move(listener);
        url_ = url;
        return std::nullopt;
      } catch (const std::exception& e) {
        lastError = e.what();
      }
    }
    return "cannot listen on " + options_.address + ": " + lastError;
  }

  const std::string& url() const { return url_; }

  // Why stop() goes in this order (issue 10): cpprestsdk's listener ends the connections it still has
  // with asio_server_connection::close() from the thread that closes it (hostport_listener::stop in
  // Release/src/http/listener/http_server_asio.cpp), without any lock against that connection's own
  // handlers on the pool threads; a close() while one of them is writing or reading (a watch's last
  // chunk, a TLS record) frees the socket's reactor state under it, as on the client side. So every
  // connection that is busy here is ended by the library itself first: a watch answer and every answer
  // given while stopping say "Connection: close", and the library closes such a connection from its own
  // handler once the answer is written (finish_request_response); stop() waits for those answers before
  // closing the listener, which then only closes connections idle between two requests.
  void stop() {
    stopping_ = true;
    // Open watches end first: cpprestsdk's close() waits for every connection, and a watch connection
    // only finishes once its stream is closed (left open, the port stayed bound after stop()).
    joinStreams();
    // Every answer written, so every watch connection closed by the library. Bounded: an answer that a
    // client stopped reading would never be written, and then the listener closes its connection.
    {
      std::unique_lock lock(mutex_);
      idle_.wait_for(lock, std::chrono::seconds(5), [this] { return inFlight_ == 0; });
    }
    if (listener_) {
      try {
        listener_->close().wait();
      } catch (const std::exception&) {
        // Closing a listener whose connections already went is not an error worth reporting.
      }
      listener_.reset();
    }
    {
      std::unique_lock lock(mutex_);
      idle_.wait(lock, [this] { return inFlight_ == 0; });  // the handler must not go while in use
    }
    joinStreams();  // a watch that arrived while closing ended at once (stopping_)
  }

 private:
  static ApiRequest toRequest(http::http_request& request) {
    ApiRequest out;
    out.method = request.method();
    const web::uri& uri = request.request_uri();
    out.path = web::uri::decode(uri.path());
    for (const auto& [key, value] : web::uri::split_query(uri.query())) {
      out.query[web::uri::decode(key)] = web::uri::decode(value);
    }
    for (const auto& [key, value] : request.headers()) {
      std::string lower = key;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      out.headers[lower] = value;
    }
    out.body = readBody(request, &out.bodyTooLarge);
    return out;
  }

  // The body's bytes as sent (no charset conversion), read no further than one byte past
  // kMaxRequestBodyBytes: ApiHandler answers 413 for that, and a client cannot make the server hold
  // more, whatever its Content-Length says or however long its chunked body runs.
  static std::string readBody(http::http_request& request, bool* tooLarge) {
    const std::string length = request.headers().has(http::header_names::content_length)
                                   ? request.headers()[http::header_names::content_length]
                                   : std::string();
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > kMaxRequestBodyBytes) {
      *tooLarge = true;  // refused without being kept
      discardBody(request);
      return std::string();
    }
    std::string body;
    try {
      auto source = request.body().streambuf();
      std::vector<uint8_t> chunk(64 * 1024);
      while (body.size() <= kMaxRequestBodyBytes) {
        const std::size_t read = source.getn(chunk.data(), chunk.size()).get();  // 0: the end
        if (read == 0) {
          break;
        }
        body.append(reinterpret_cast<const char*>(chunk.data()), read);
      }
    } catch (const std::exception&) {
      body.clear();
    }
    *tooLarge = body.size() > kMaxRequestBodyBytes;
    if (*tooLarge) {
      discardBody(request);
      return std::string();
    }
    return body;
  }

  // Reads the rest of a refused body and drops it. cpprestsdk's connection reads the whole body into
  // the request's buffer whatever the handler does, and sends the answer only then: left undrained, the
  // buffer held it all (a 512 MiB body, measured). Closing the buffer instead ends the read at once, but
  // the connection is then closed with the body's rest unread and the client gets a reset, not the 413.
  static void discardBody(http::http_request& request) {
    try {
      auto source = request.body().streambuf();
      std::vector<uint8_t> chunk(64 * 1024);
      while (source.getn(chunk.data(), chunk.size()).get() != 0) {
      }
    } catch (const std::exception&) {
      // The client went away: nothing left to read.
    }
  }

  void serve(http::http_request request) {
    // Counted so that stop() never lets the handler go while a request still uses it.
    InFlight counted(*this);
    ApiResponse response = handler_.handle(toRequest(request));
    if (response.watch) {
      stream(std::move(request), std::move(response));
      return;
    }
    if (response.status == 0) {
      drop(std::move(request));
      return;
    }
    http::http_response reply(static_cast<http::status_code>(response.status));
    reply.headers().set_content_type(response.contentType);
    for (const std::string& warning : response.warnings) {
      reply.headers().add("Warning", "299 - \"" + warning + "\"");
    }
    reply.set_body(response.body, response.contentType);
    if (stopping_) {
      reply.headers().add("Connection", "close");
    }
    auto answering = std::make_shared<InFlight>(*this);
    request.reply(reply).then([answering](pplx::task<void> sent) {
      try {
        sent.get();
      } catch (const std::exception&) {
        // The client went away before the answer: nothing left to tell it.
      }
    });
  }

  // A fault injector's dropped connection: cpprestsdk's listener cannot abort a connection, but it
  // closes one whose body ends before its Content-Length, so the client sees the answer break off
  // (ErrorKind::Network), as after a real drop.
  void drop(http::http_request request) {
    auto buffer = std::make_shared<concurrency::streams::producer_consumer_buffer<uint8_t>>();
    http::http_response reply(http::status_codes::OK);
    reply.headers().set_content_type("application/json");
    reply.set_body(buffer->create_istream(), /*content_length=*/1U << 20U);
    buffer->close(std::ios_base::out).wait();
    auto answering = std::make_shared<InFlight>(*this);
    request.reply(reply).then([answering](pplx::task<void> sent) {
      try {
        sent.get();
      } catch (const std::exception&) {
        // Expected: the body ended early and the connection was closed.
      }
    });
  }

  // A watch answer: chunked JSON lines written as events come, on a thread of its own.
  void stream(http::http_request request, ApiResponse response) {
    auto buffer = std::make_shared<concurrency::streams::producer_consumer_buffer<uint8_t>>();
    auto clientGone = std::make_shared<std::atomic<bool>>(false);
    http::http_response reply(http::status_codes::OK);
    reply.headers().set_content_type("application/json");
    reply.headers().add("Transfer-Encoding", "chunked");
    // The library closes the connection itself once the last chunk is out (see stop()).
    reply.headers().add("Connection", "close");
    reply.set_body(buffer->create_istream());
    auto answering = std::make_shared<InFlight>(*this);
    request.reply(reply).then([clientGone, answering](pplx::task<void> sent) {
      try {
        sent.get();
      } catch (const std::exception&) {
        // The client closed the connection: the writer below notices and stops.
      }
      clientGone->store(true);
    });
    auto finished = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(mutex_);
    reapFinishedStreams();
    streams_.push_back(
        Stream{std::thread(&Impl::pump, this, buffer, clientGone, finished, std::move(response)), finished});
  }

  // A watch stream's thread: writes each event as a JSON line until the watch, the client, the
  // server or the timeout ends it.
  void pump(std::shared_ptr<concurrency::streams::producer_consumer_buffer<uint8_t>> buffer,
            std::shared_ptr<std::atomic<bool>> clientGone, std::shared_ptr<std::atomic<bool>> finished,
            ApiResponse response) {
    const auto deadline = response.watchTimeout.count() > 0
                              ? std::chrono::steady_clock::now() + response.watchTimeout
                              : std::chrono::steady_clock::time_point::max();
    while (!stopping_ && !clientGone->load() && !response.watch->ended() &&
           std::chrono::steady_clock::now() < deadline) {
      auto event = response.watch->next(std::chrono::milliseconds(250));
      if (!event) {
        continue;
      }
      const std::string line = response.encodeEvent(*event).dump() + "\n";
      buffer->putn_nocopy(reinterpret_cast<const uint8_t*>(line.data()), line.size()).wait();
      buffer->sync().wait();
    }
    response.watch->stop();
    buffer->close(std::ios_base::out).wait();
    finished->store(true);
  }

  // Joins the threads of watches that have ended, so a long-running server does not keep one thread
  // (and its stack) per watch it ever served. Needs mutex_.
  void reapFinishedStreams() {
    std::erase_if(streams_, [](Stream& stream) {
      if (!stream.finished->load()) {
        return false;
      }
      stream.thread.join();
      return true;
    });
  }

  void joinStreams() {
    std::vector<Stream> streams;
    {
      std::lock_guard lock(mutex_);
      streams.swap(streams_);
    }
    for (auto& stream : streams) {
      stream.thread.join();
    }
  }

  ApiHandler& handler_;
  HttpServerOptions options_;
  std::unique_ptr<http_listener> listener_;
  std::string url_;
  std::atomic<bool> stopping_{false};
  // Counts a request from its arrival until the handler is done, and an answer until the library has
  // written it (or failed to): stop() waits for none before closing the listener.
  class InFlight {
   public:
    explicit InFlight(Impl& impl) : impl_(&impl) {
      std::lock_guard lock(impl_->mutex_);
      ++impl_->inFlight_;
    }
    ~InFlight() {
      {
        std::lock_guard lock(impl_->mutex_);
        --impl_->inFlight_;
      }
      impl_->idle_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    Impl* const impl_;
  };

  std::mutex mutex_;  // guards streams_ and inFlight_ (requests being handled and answers being written)
  std::condition_variable idle_;
  int inFlight_ = 0;
  struct Stream {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;  // set as the thread's last step
  };
  std::vector<Stream> streams_;
};

HttpServer::HttpServer(ApiHandler& handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(handler, std::move(options))) {}

HttpServer::~HttpServer() = default;

std::optional<std::string> HttpServer::start() {
  return impl_->start();
}

const std::string& HttpServer::url() const {
  return impl_->url();
}

void HttpServer::stop() {
  impl_->stop();
}

}  // namespace virtsnap::apiserver
