#include "controller/kube/watcher.h"

#include <utility>

namespace virtsnap::kube {

namespace {

std::string resourceVersionOf(const nlohmann::json& object) {
  if (!object.is_object()) {
    return {};
  }
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return {};
  }
  auto version = metadata->find("resourceVersion");
  return version != metadata->end() && version->is_string() ? version->get<std::string>() : std::string();
}

// An ERROR event the stream passed on as an event rather than as an error: its metav1.Status.
KubeError errorFromStatus(const nlohmann::json& status) {
  KubeError error;
  error.kind = ErrorKind::ServerError;
  if (status.is_object()) {
    if (auto code = status.find("code"); code != status.end() && code->is_number_integer()) {
      error.httpStatus = code->get<int>();
    }
    if (auto reason = status.find("reason"); reason != status.end() && reason->is_string()) {
      error.reason = reason->get<std::string>();
    }
    if (auto message = status.find("message"); message != status.end() && message->is_string()) {
      error.message = message->get<std::string>();
    }
  }
  if (error.httpStatus == 410 || error.reason == "Expired" || error.reason == "Gone") {
    error.kind = ErrorKind::Gone;
  } else if (error.httpStatus == 429) {
    error.kind = ErrorKind::TooManyRequests;
  } else if (error.httpStatus >= 400 && error.httpStatus < 500) {
    error.kind = ErrorKind::BadRequest;
  }
  if (error.message.empty()) {
    error.message = "watch ERROR event: " + status.dump();
  }
  return error;
}

KubeError decodeError(std::string message) {
  KubeError error;
  error.kind = ErrorKind::Decode;
  error.message = std::move(message);
  return error;
}

}  // namespace

const char* watcherEventTypeName(WatcherEventType type) {
  switch (type) {
    case WatcherEventType::InitStarted:
      return "InitStarted";
    case WatcherEventType::InitApply:
      return "InitApply";
    case WatcherEventType::InitDone:
      return "InitDone";
    case WatcherEventType::Apply:
      return "Apply";
    case WatcherEventType::Delete:
      return "Delete";
  }
  return "Unknown";
}

Watcher::Watcher(ApiClientPtr client, WatcherConfig config, ClockPtr clock, RandomSourcePtr random)
    : client_(std::move(client)),
      config_(std::move(config)),
      clock_(std::move(clock)),
      backoff_(config_.backoff, clock_, std::move(random)) {}

void Watcher::run(const Consumer& consumer, const FailureObserver& onFailure) {
  bool needList = true;
  std::string version;
  while (!stopping()) {
    if (relistRequested(/*take=*/true)) {
      needList = true;  // a request that comes while this list runs is another relist
    }
    if (needList) {
      auto listed = listAll(consumer, onFailure);
      if (!listed) {
        continue;  // the failure was reported and waited for (or we are stopping)
      }
      version = std::move(*listed);
      setResourceVersion(version);
      needList = false;
      continue;
    }
    switch (watchOnce(version, consumer, onFailure)) {
      case Next::Watch:
        version = resourceVersion();
        break;
      case Next::Relist:
        needList = true;
        break;
      case Next::Stop:
        return;
    }
  }
}

std::optional<std::string> Watcher::listAll(const Consumer& consumer, const FailureObserver& onFailure) {
  ListOptions options;
  options.labelSelector = config_.labelSelector;
  options.fieldSelector = config_.fieldSelector;
  options.limit = config_.pageSize;
  std::string version;
  bool started = false;
  do {
    auto page = client_->list(config_.type, config_.ns, options);
    if (stopping()) {
      return std::nullopt;
    }
    if (!page) {
      backOff(WatcherStage::List, page.error(), /*relist=*/true, onFailure);
      return std::nullopt;
    }
    nlohmann::json list = std::move(page).value();
    auto items = list.find("items");
    if (!list.is_object() || (items != list.end() && !items->is_array() && !items->is_null())) {
      backOff(WatcherStage::List, decodeError("a list answer without an items array"), true, onFailure);
      return std::nullopt;
    }
    if (!started) {
      // The first page's version: later pages belong to the same snapshot, and watching from an older
      // version than the truth only repeats changes, never loses one.
      version = resourceVersionOf(list);
      if (version.empty()) {
        backOff(WatcherStage::List, decodeError("a list answer without metadata.resourceVersion"), true,
                onFailure);
        return std::nullopt;
      }
      consumer(WatcherEvent{WatcherEventType::InitStarted, nullptr});
      started = true;
    }
    if (items != list.end() && items->is_array()) {
      for (auto& item : *items) {
        fillTypeMeta(item);
        consumer(WatcherEvent{WatcherEventType::InitApply, std::move(item)});
      }
    }
    options.continueToken.clear();
    if (auto metadata = list.find("metadata"); metadata != list.end() && metadata->is_object()) {
      if (auto token = metadata->find("continue"); token != metadata->end() && token->is_string()) {
        options.continueToken = token->get<std::string>();
      }
    }
  } while (!options.continueToken.empty() && !stopping());
  if (stopping()) {
    return std::nullopt;
  }
  consumer(WatcherEvent{WatcherEventType::InitDone, nullptr});
  return version;
}

Watcher::Next Watcher::watchOnce(const std::string& fromVersion, const Consumer& consumer,
                                 const FailureObserver& onFailure) {
  ListOptions options;
  options.labelSelector = config_.labelSelector;
  options.fieldSelector = config_.fieldSelector;
  options.resourceVersion = fromVersion;
  options.allowWatchBookmarks = config_.bookmarks;
  options.timeoutSeconds = config_.watchTimeoutSeconds;
  auto opened = client_->watch(config_.type, config_.ns, options);
  if (stopping()) {
    return Next::Stop;
  }
  if (!opened) {
    const bool gone = opened.error().kind == ErrorKind::Gone;
    if (!backOff(WatcherStage::WatchStart, opened.error(), gone, onFailure)) {
      return Next::Stop;
    }
    return gone ? Next::Relist : Next::Watch;
  }
  WatchStreamPtr stream = std::move(opened).value();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return Next::Stop;
    }
    if (relistRequested_) {
      return Next::Relist;
    }
    activeStream_ = stream.get();
  }
  // Unregisters the stream before it is destroyed, so stop() never cancels a dead one.
  struct Unregister {
    Watcher& watcher;
    ~Unregister() {
      std::lock_guard lock(watcher.mutex_);
      watcher.activeStream_ = nullptr;
    }
  } unregister{*this};

  std::optional<KubeError> failure;
  while (true) {
    auto next = stream->next();
    if (stopping()) {
      return Next::Stop;
    }
    if (!next) {
      failure = next.error();
      break;
    }
    if (!next.value()) {
      break;  // the server ended the stream (its timeout, or it went away cleanly)
    }
    WatchEvent event = std::move(next).value().value();
    if (event.type == WatchEventType::Error) {
      failure = errorFromStatus(event.object);
      break;
    }
    const std::string version = resourceVersionOf(event.object);
    if (version.empty()) {
      failure = decodeError("a " + std::string(watchEventTypeName(event.type)) +
                            " event without metadata.resourceVersion");
      break;
    }
    switch (event.type) {
      case WatchEventType::Added:
      case WatchEventType::Modified:
        consumer(WatcherEvent{WatcherEventType::Apply, std::move(event.object)});
        break;
      case WatchEventType::Deleted:
        consumer(WatcherEvent{WatcherEventType::Delete, std::move(event.object)});
        break;
      case WatchEventType::Bookmark:
      case WatchEventType::Error:
        break;  // a bookmark only moves the resourceVersion on
    }
    setResourceVersion(version);
    // The watch works: its end, whenever it comes, is a first failure again (kube-rs resets its backoff
    // on every event; client-go re-watches a watch that ended after delivering at once). A watch that
    // never delivers keeps the delay growing.
    backoff_.reset();
  }
  if (failure && failure->kind == ErrorKind::Cancelled && stopping()) {
    return Next::Stop;
  }
  if (relistRequested(/*take=*/false)) {
    return Next::Relist;  // cancelled (or ended) for the relist asked for: no failure, no backoff
  }
  const bool gone = failure && failure->kind == ErrorKind::Gone;
  KubeError reported;
  if (failure) {
    reported = *failure;
  } else {
    reported.kind = ErrorKind::Network;
    reported.message = "the watch stream ended";
  }
  if (!backOff(WatcherStage::WatchStream, reported, gone, onFailure)) {
    return Next::Stop;
  }
  return gone ? Next::Relist : Next::Watch;
}

bool Watcher::backOff(WatcherStage stage, const KubeError& error, bool relist,
                      const FailureObserver& onFailure) {
  std::chrono::nanoseconds delay = backoff_.next();
  if (error.retryAfter && *error.retryAfter > delay) {
    delay = *error.retryAfter;  // the server asked for a longer pause (429, 503)
  }
  if (onFailure) {
    onFailure(WatcherFailure{stage, error, relist, delay});
  }
  return waitFor(delay);
}

bool Watcher::waitFor(std::chrono::nanoseconds delay) {
  std::unique_lock lock(mutex_);
  const auto deadline = clock_->now() + delay;
  while (!stopping_ && clock_->now() < deadline) {
    clock_->waitUntil(lock, wake_, deadline);
  }
  return !stopping_;
}

void Watcher::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  if (activeStream_ != nullptr) {
    activeStream_->cancel();
  }
  wake_.notify_all();
}

void Watcher::requestRelist() {
  std::lock_guard lock(mutex_);
  relistRequested_ = true;
  if (activeStream_ != nullptr) {
    activeStream_->cancel();
  }
}

bool Watcher::relistRequested(bool take) {
  std::lock_guard lock(mutex_);
  const bool requested = relistRequested_;
  if (take) {
    relistRequested_ = false;
  }
  return requested;
}

bool Watcher::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::string Watcher::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return resourceVersion_;
}

void Watcher::setResourceVersion(const std::string& version) {
  std::lock_guard lock(mutex_);
  resourceVersion_ = version;
}

void Watcher::fillTypeMeta(nlohmann::json& object) const {
  if (!object.is_object()) {
    return;
  }
  if (!object.contains("apiVersion")) {
    object["apiVersion"] = config_.type.apiVersion();
  }
  if (!object.contains("kind")) {
    object["kind"] = config_.type.kind;
  }
}

}  // namespace virtsnap::kube
