#pragma once
// An ApiClient for watcher and informer tests: a tiny API server in memory whose every list and watch
// is recorded, and whose failures the test scripts.
//
// - upsert()/erase() change the world with a new resourceVersion and send ADDED/MODIFIED/DELETED to the
//   open watches; a watch from resourceVersion v first replays every kept change after v (as the real
//   server does from its history), so tests can check resume semantics.
// - compact() forgets the history: a watch from an older version is answered 410 Gone.
// - failLists()/failWatches() make the next calls fail; breakStreams(), endStreams(), sendError(),
//   bookmark() act on the open streams.
// - list() pages by key with limit/continue and reports the world's version.
// - get/create/update/remove work on the world; patch and updateStatus answer BadRequest (unused here).
// - Selectors are recorded, not applied (the integration tests run the real server's selectors).
// Thread-safe; streams block in next() on a real condition variable until an item or cancel() arrives.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/kube/api_client.h"
#include "tests/support/eventually.h"

namespace virtsnap::testsupport {

inline kube::KubeError kubeError(kube::ErrorKind kind, int status, std::string message) {
  kube::KubeError error;
  error.kind = kind;
  error.httpStatus = status;
  error.message = std::move(message);
  return error;
}

class ScriptedApiClient final : public kube::ApiClient {
 public:
  struct End {};
  using StreamItem = std::variant<kube::WatchEvent, kube::KubeError, End>;

  // --- the world ---
  // Stores the object (namespace/name from its metadata) with the next resourceVersion; returns it.
  nlohmann::json upsert(nlohmann::json object) {
    std::lock_guard lock(mutex_);
    return upsertLocked(std::move(object));
  }
  // Deletes namespace/name if present; returns whether it was.
  bool erase(const std::string& ns, const std::string& name) {
    std::lock_guard lock(mutex_);
    return eraseLocked(key(ns, name));
  }
  std::map<std::string, nlohmann::json> objects() const {
    std::lock_guard lock(mutex_);
    return objects_;
  }
  std::uint64_t version() const {
    std::lock_guard lock(mutex_);
    return version_;
  }
  // Forgets the history: watches from an older version get 410.
  void compact() {
    std::lock_guard lock(mutex_);
    history_.clear();
    historyStart_ = version_;
  }
  // Keeps at most `size` changes of history (older resumes get 410).
  void setHistoryLimit(std::size_t size) {
    std::lock_guard lock(mutex_);
    historyLimit_ = size;
    trimHistory();
  }

  // --- faults ---
  // The next `times` list calls (-1: all) after the next `after` ones fail with `error`.
  void failLists(int times, kube::KubeError error, int after = 0) {
    std::lock_guard lock(mutex_);
    listFailures_.push_back(Failure{after, times, std::move(error)});
  }
  void failWatches(int times, kube::KubeError error, int after = 0) {
    std::lock_guard lock(mutex_);
    watchFailures_.push_back(Failure{after, times, std::move(error)});
  }
  // The open streams' next() returns `error` (after what is queued).
  void breakStreams(const kube::KubeError& error) { pushToStreams(error); }
  // The open streams end cleanly (after what is queued).
  void endStreams() { pushToStreams(End{}); }
  // An ERROR event carrying this metav1.Status.
  void sendError(const nlohmann::json& status) {
    pushToStreams(kube::WatchEvent{kube::WatchEventType::Error, status});
  }
  // Any event, as given (for malformed ones), to the open streams.
  void send(const kube::WatchEvent& event) { pushToStreams(event); }
  // A BOOKMARK to the streams that asked for bookmarks: at `version` (as for changes the watch does not
  // show, e.g. to other namespaces), or at the world's version.
  void bookmark(std::optional<std::uint64_t> version = std::nullopt) {
    std::lock_guard lock(mutex_);
    if (version) {
      version_ = std::max(version_, *version);
    }
    nlohmann::json object{{"kind", "Bookmark"},
                          {"metadata", {{"resourceVersion", std::to_string(version ? *version : version_)}}}};
    for (const auto& stream : streams_) {
      if (stream->bookmarks) {
        stream->push(kube::WatchEvent{kube::WatchEventType::Bookmark, object});
      }
    }
  }

  // --- what was asked ---
  std::vector<kube::ListOptions> listCalls() const {
    std::lock_guard lock(mutex_);
    return listCalls_;
  }
  std::vector<kube::ListOptions> watchCalls() const {
    std::lock_guard lock(mutex_);
    return watchCalls_;
  }
  std::size_t listCount() const {
    std::lock_guard lock(mutex_);
    return listCalls_.size();
  }
  std::size_t watchCount() const {
    std::lock_guard lock(mutex_);
    return watchCalls_.size();
  }
  // Open streams whose consumer is blocked in next() with nothing queued: it has taken in everything.
  std::size_t idleStreams() const {
    std::lock_guard lock(mutex_);
    std::size_t idle = 0;
    for (const auto& stream : streams_) {
      std::lock_guard streamLock(stream->mutex);
      idle += stream->waiting && stream->queue.empty() ? 1 : 0;
    }
    return idle;
  }
  std::size_t openStreams() const {
    std::lock_guard lock(mutex_);
    return streams_.size();
  }

  // --- ApiClient ---
  kube::KubeResult<nlohmann::json> get(const meta::ResourceType&, const std::string& ns,
                                       const std::string& name) override {
    std::lock_guard lock(mutex_);
    auto found = objects_.find(key(ns, name));
    if (found == objects_.end()) {
      return kubeError(kube::ErrorKind::NotFound, 404, "not found");
    }
    return found->second;
  }

  kube::KubeResult<nlohmann::json> list(const meta::ResourceType& type, const std::string&,
                                        const kube::ListOptions& options) override {
    std::lock_guard lock(mutex_);
    listCalls_.push_back(options);
    if (auto failure = takeFailure(listFailures_)) {
      return *failure;
    }
    nlohmann::json items = nlohmann::json::array();
    auto it = options.continueToken.empty() ? objects_.begin() : objects_.upper_bound(options.continueToken);
    std::string last;
    for (; it != objects_.end(); ++it) {
      if (options.limit > 0 && static_cast<std::int64_t>(items.size()) == options.limit) {
        break;
      }
      nlohmann::json item = it->second;
      item.erase("kind");  // as a real list: the items carry no type
      item.erase("apiVersion");
      items.push_back(std::move(item));
      last = it->first;
    }
    nlohmann::json metadata{{"resourceVersion", std::to_string(version_)}};
    if (it != objects_.end()) {
      metadata["continue"] = last;
    }
    return nlohmann::json{{"kind", type.kind + "List"}, {"metadata", metadata}, {"items", items}};
  }

  kube::KubeResult<nlohmann::json> create(const meta::ResourceType&, const nlohmann::json& object,
                                          const kube::WriteOptions&) override {
    return upsert(object);
  }
  kube::KubeResult<nlohmann::json> update(const meta::ResourceType&, const nlohmann::json& object,
                                          const kube::WriteOptions&) override {
    return upsert(object);
  }
  kube::KubeResult<nlohmann::json> updateStatus(const meta::ResourceType&, const nlohmann::json&,
                                                const kube::WriteOptions&) override {
    return kubeError(kube::ErrorKind::BadRequest, 400, "updateStatus is not scripted");
  }
  kube::KubeResult<nlohmann::json> patch(const meta::ResourceType&, const std::string&, const std::string&,
                                         kube::PatchType, const std::string&,
                                         const kube::PatchOptions&) override {
    return kubeError(kube::ErrorKind::BadRequest, 400, "patch is not scripted");
  }
  kube::KubeResult<nlohmann::json> remove(const meta::ResourceType&, const std::string& ns,
                                          const std::string& name, const kube::DeleteOptions&) override {
    if (!erase(ns, name)) {
      return kubeError(kube::ErrorKind::NotFound, 404, "not found");
    }
    return nlohmann::json{{"kind", "Status"}, {"status", "Success"}};
  }

  kube::KubeResult<kube::WatchStreamPtr> watch(const meta::ResourceType&, const std::string&,
                                               const kube::ListOptions& options) override {
    std::lock_guard lock(mutex_);
    watchCalls_.push_back(options);
    if (auto failure = takeFailure(watchFailures_)) {
      return *failure;
    }
    auto stream = std::make_shared<Stream>();
    stream->bookmarks = options.allowWatchBookmarks;
    if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
      const std::uint64_t from = std::stoull(options.resourceVersion);
      if (from < historyStart_) {
        return kubeError(kube::ErrorKind::Gone, 410, "too old resource version");
      }
      for (const auto& [changeVersion, event] : history_) {
        if (changeVersion > from) {
          stream->push(event);
        }
      }
    }
    streams_.push_back(stream);
    return kube::WatchStreamPtr(std::make_unique<StreamHandle>(this, stream));
  }

 private:
  struct Stream {
    std::mutex mutex;  // guards the fields below
    std::condition_variable ready;
    std::deque<StreamItem> queue;
    bool cancelled = false;
    bool waiting = false;
    bool bookmarks = false;
    void push(StreamItem item) {
      {
        std::lock_guard lock(mutex);
        queue.push_back(std::move(item));
      }
      ready.notify_all();
    }
  };

  class StreamHandle final : public kube::WatchStream {
   public:
    StreamHandle(ScriptedApiClient* client, std::shared_ptr<Stream> stream)
        : client_(client), stream_(std::move(stream)) {}
    ~StreamHandle() override { client_->forget(stream_); }
    kube::KubeResult<std::optional<kube::WatchEvent>> next() override {
      std::unique_lock lock(stream_->mutex);
      if (ended_) {
        return std::optional<kube::WatchEvent>();
      }
      stream_->waiting = true;
      stream_->ready.wait(lock, [this] { return stream_->cancelled || !stream_->queue.empty(); });
      stream_->waiting = false;
      if (stream_->cancelled) {
        ended_ = true;
        return std::optional<kube::WatchEvent>();
      }
      StreamItem item = std::move(stream_->queue.front());
      stream_->queue.pop_front();
      if (auto* event = std::get_if<kube::WatchEvent>(&item)) {
        return std::optional<kube::WatchEvent>(std::move(*event));
      }
      ended_ = true;  // an error or an end is the stream's last word
      if (auto* error = std::get_if<kube::KubeError>(&item)) {
        return *error;
      }
      return std::optional<kube::WatchEvent>();
    }
    void cancel() override {
      {
        std::lock_guard lock(stream_->mutex);
        stream_->cancelled = true;
      }
      stream_->ready.notify_all();
    }

   private:
    ScriptedApiClient* client_;
    std::shared_ptr<Stream> stream_;
    bool ended_ = false;  // guarded by stream_->mutex
  };

  static std::string key(const std::string& ns, const std::string& name) {
    return ns.empty() ? name : ns + "/" + name;
  }
  static std::string keyOf(const nlohmann::json& object) {
    const auto& metadata = object.at("metadata");
    return key(metadata.value("namespace", ""), metadata.at("name").get<std::string>());
  }

  nlohmann::json upsertLocked(nlohmann::json object) {
    const std::string objectKey = keyOf(object);
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    const bool existed = objects_.count(objectKey) > 0;
    objects_[objectKey] = object;
    publish(kube::WatchEvent{existed ? kube::WatchEventType::Modified : kube::WatchEventType::Added, object});
    return object;
  }
  bool eraseLocked(const std::string& objectKey) {
    auto found = objects_.find(objectKey);
    if (found == objects_.end()) {
      return false;
    }
    nlohmann::json last = std::move(found->second);
    objects_.erase(found);
    last["metadata"]["resourceVersion"] = std::to_string(++version_);
    publish(kube::WatchEvent{kube::WatchEventType::Deleted, std::move(last)});
    return true;
  }
  void publish(const kube::WatchEvent& event) {  // needs mutex_
    history_.emplace_back(version_, event);
    trimHistory();
    for (const auto& stream : streams_) {
      stream->push(event);
    }
  }
  void trimHistory() {  // needs mutex_
    while (history_.size() > historyLimit_) {
      historyStart_ = history_.front().first;
      history_.pop_front();
    }
  }
  void pushToStreams(const StreamItem& item) {
    std::lock_guard lock(mutex_);
    for (const auto& stream : streams_) {
      stream->push(item);
    }
  }
  void forget(const std::shared_ptr<Stream>& stream) {
    std::lock_guard lock(mutex_);
    std::erase(streams_, stream);
  }
  struct Failure {
    int after = 0;  // calls still let through before this one applies
    int times = 0;  // -1: for ever
    kube::KubeError error;
  };
  static std::optional<kube::KubeError> takeFailure(std::deque<Failure>& failures) {
    while (!failures.empty()) {
      Failure& failure = failures.front();
      if (failure.times == 0) {
        failures.pop_front();
        continue;
      }
      if (failure.after > 0) {
        --failure.after;
        return std::nullopt;
      }
      if (failure.times > 0) {
        --failure.times;
      }
      return failure.error;
    }
    return std::nullopt;
  }

  mutable std::mutex mutex_;  // guards everything below (each stream has its own mutex for its queue)
  std::map<std::string, nlohmann::json> objects_;
  std::uint64_t version_ = 100;
  std::deque<std::pair<std::uint64_t, kube::WatchEvent>> history_;
  std::size_t historyLimit_ = 1000000;
  std::uint64_t historyStart_ = 0;
  std::deque<Failure> listFailures_;
  std::deque<Failure> watchFailures_;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::vector<kube::ListOptions> listCalls_;
  std::vector<kube::ListOptions> watchCalls_;
};

}  // namespace virtsnap::testsupport
