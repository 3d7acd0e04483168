#pragma once
// A Transport straight into the embedded API server's ApiHandler, with no socket: envtest for
// controller/kube. Requests get the real server's semantics (validation, resourceVersions, selectors,
// watches, fault injection) at function-call cost, and tests stay deterministic.
//
// What it does as an HTTP front end would: the path and query go in decoded, header names in lower
// case, the token as "Authorization: Bearer"; a fault injector's drop (status 0) is a broken
// connection (ErrorKind::Network) - for a watch, a stream whose next() fails with it; a watch answer
// is streamed one JSON line per event, ending when the server ends it or timeoutSeconds passes.
// What it does not do: deadlines (RestRequest::timeout) are not enforced, since the handler runs on
// the caller's thread; a fault's latency just delays the answer.
// breakStreams() ends every open watch as a dropped connection would, for resume tests; expireStreams()
// ends each with an ERROR event of 410 Expired, as a server whose watch history was compacted does.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/apiserver/api_handler.h"
#include "controller/kube/status_error.h"
#include "controller/kube/transport.h"

namespace virtsnap::testsupport {

class InProcessTransport final : public kube::Transport {
 public:
  // `token`, when not empty, is sent as the bearer token.
  explicit InProcessTransport(apiserver::ApiHandler& handler, std::string token = "")
      : handler_(handler), token_(std::move(token)) {}

  kube::KubeResult<kube::RestResponse> send(const kube::RestRequest& request) override {
    ++requests_;
    apiserver::ApiResponse answer = handler_.handle(toApiRequest(request));
    if (answer.watch) {
      answer.watch->stop();
      return networkError("the server streamed the answer to a plain request");
    }
    if (answer.status == 0) {
      return networkError("the server closed the connection without an answer");
    }
    return toRestResponse(answer);
  }

  kube::KubeResult<kube::LineStreamPtr> stream(const kube::RestRequest& request) override {
    ++requests_;
    apiserver::ApiResponse answer = handler_.handle(toApiRequest(request));
    if (answer.status == 0) {
      return kube::LineStreamPtr(std::make_unique<BrokenStream>());
    }
    if (answer.status < 200 || answer.status > 299) {
      return kube::errorFromResponse(answer.status, answer.body);
    }
    if (!answer.watch) {
      return kube::LineStreamPtr(std::make_unique<BodyStream>(answer.body));
    }
    auto state = std::make_shared<StreamState>();
    state->watch = answer.watch;
    state->encode = answer.encodeEvent;
    if (answer.watchTimeout.count() > 0) {
      state->deadline = std::chrono::steady_clock::now() + answer.watchTimeout;
    }
    {
      std::lock_guard lock(mutex_);
      std::erase_if(streams_, [](const std::weak_ptr<StreamState>& open) { return open.expired(); });
      streams_.push_back(state);
    }
    return kube::LineStreamPtr(std::make_unique<WatchLineStream>(state));
  }

  // Ends every open watch stream as a dropped connection would: next() fails with ErrorKind::Network.
  void breakStreams() {
    for (const auto& state : openStreams()) {
      state->broken = true;
      state->watch->stop();
    }
  }

  // Ends every open watch stream with an ERROR event (410 Expired, "too old resource version"), as the
  // API server does when the watch's resourceVersion left its history: the client must list again.
  void expireStreams() {
    for (const auto& state : openStreams()) {
      state->expired = true;
    }
  }

  // Requests that reached the handler (plain and streamed).
  int requests() const { return requests_.load(); }

 private:
  struct StreamState;

  // The streams still open, forgotten here (each is ended by the caller).
  std::vector<std::shared_ptr<StreamState>> openStreams() {
    std::vector<std::shared_ptr<StreamState>> open;
    std::lock_guard lock(mutex_);
    for (const auto& weak : streams_) {
      if (auto state = weak.lock()) {
        open.push_back(std::move(state));
      }
    }
    streams_.clear();
    return open;
  }

  struct StreamState {
    std::shared_ptr<apiserver::Watch> watch;
    std::function<nlohmann::json(const apiserver::WatchEvent&)> encode;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::atomic<bool> cancelled{false};
    std::atomic<bool> broken{false};
    std::atomic<bool> expired{false};
  };

  // Pulls events from the server's watch; polls in short slices so cancel() and the deadline are seen.
  class WatchLineStream final : public kube::LineStream {
   public:
    explicit WatchLineStream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
    ~WatchLineStream() override { state_->watch->stop(); }

    kube::KubeResult<std::optional<std::string>> next() override {
      while (true) {
        if (state_->broken) {
          return networkError("the connection was dropped in the middle of the watch");
        }
        if (state_->expired.exchange(false) && !state_->cancelled) {
          state_->watch->stop();  // the stream ends after this event
          return std::optional<std::string>(
              R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
              R"("status":"Failure","message":"too old resource version","reason":"Expired","code":410}})");
        }
        if (state_->cancelled || state_->watch->ended() ||
            (state_->deadline && std::chrono::steady_clock::now() >= *state_->deadline)) {
          state_->watch->stop();
          // stop() may have come from breakStreams(): tell a broken stream from a finished one.
          if (state_->broken) {
            continue;
          }
          return std::optional<std::string>();
        }
        if (auto event = state_->watch->next(std::chrono::milliseconds(50))) {
          return std::optional<std::string>(state_->encode(*event).dump());
        }
      }
    }

    void cancel() override {
      state_->cancelled = true;
      state_->watch->stop();
    }

   private:
    std::shared_ptr<StreamState> state_;
  };

  // A 2xx answer that is not a watch, served line by line.
  class BodyStream final : public kube::LineStream {
   public:
    explicit BodyStream(std::string body) : body_(std::move(body)) {}
    kube::KubeResult<std::optional<std::string>> next() override {
      std::lock_guard lock(mutex_);
      if (cancelled_ || at_ >= body_.size()) {
        return std::optional<std::string>();
      }
      std::size_t end = body_.find('\n', at_);
      end = end == std::string::npos ? body_.size() : end;
      std::string line = body_.substr(at_, end - at_);
      at_ = end + 1;
      return std::optional<std::string>(std::move(line));
    }
    void cancel() override {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }

   private:
    std::mutex mutex_;  // guards at_ and cancelled_
    std::string body_;
    std::size_t at_ = 0;
    bool cancelled_ = false;
  };

  // The connection was dropped before any answer.
  class BrokenStream final : public kube::LineStream {
   public:
    kube::KubeResult<std::optional<std::string>> next() override {
      return networkError("the server closed the connection without an answer");
    }
    void cancel() override {}
  };

  static kube::KubeError networkError(std::string message) {
    kube::KubeError error;
    error.kind = kube::ErrorKind::Network;
    error.message = std::move(message);
    return error;
  }

  static std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
  }

  apiserver::ApiRequest toApiRequest(const kube::RestRequest& request) const {
    apiserver::ApiRequest out;
    out.method = request.method;
    out.path = request.path;
    for (const auto& [key, value] : request.query) {
      out.query[key] = value;
    }
    for (const auto& [key, value] : request.headers) {
      out.headers[lower(key)] = value;
    }
    if (!request.contentType.empty()) {
      out.headers["content-type"] = request.contentType;
    }
    if (!token_.empty()) {
      out.headers["authorization"] = "Bearer " + token_;
    }
    out.body = request.body;
    return out;
  }

  static kube::RestResponse toRestResponse(const apiserver::ApiResponse& answer) {
    kube::RestResponse out;
    out.status = answer.status;
    out.body = answer.body;
    out.headers["content-type"] = answer.contentType;
    std::string warnings;
    for (const std::string& warning : answer.warnings) {
      warnings += (warnings.empty() ? "" : ", ") + std::string("299 - \"") + warning + "\"";
    }
    if (!warnings.empty()) {
      out.headers["warning"] = warnings;
    }
    return out;
  }

  apiserver::ApiHandler& handler_;
  const std::string token_;
  std::atomic<int> requests_{0};
  std::mutex mutex_;  // guards streams_
  std::vector<std::weak_ptr<StreamState>> streams_;
};

}  // namespace virtsnap::testsupport
