#include "controller/kube/informer.h"

#include <charconv>
#include <cstdint>
#include <utility>

#include "controller/kube/json_fields.h"

namespace virtsnap::kube {
namespace {

std::optional<std::uint64_t> decimal(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') {
    return std::nullopt;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string resourceVersionOf(const nlohmann::json& object) {
  auto metadata = object.find("metadata");
  return metadata == object.end() ? std::string() : stringField(*metadata, "resourceVersion");
}

// The order of two versions of one object; nullopt when their resourceVersions do not compare.
std::optional<std::strong_ordering> versionOrder(const nlohmann::json& a, const nlohmann::json& b) {
  return compareResourceVersions(resourceVersionOf(a), resourceVersionOf(b));
}

}  // namespace

std::optional<std::strong_ordering> compareResourceVersions(std::string_view a, std::string_view b) {
  auto first = decimal(a);
  auto second = decimal(b);
  if (!first || !second) {
    return std::nullopt;
  }
  return *first <=> *second;
}

Informer::Informer(ApiClientPtr client, InformerOptions options, ClockPtr clock, RandomSourcePtr random)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      cache_(options_.indexers, options_.storage, options_.indexOrders, options_.countedIndexes),
      watcher_(std::move(client), options_.watcher, clock_, std::move(random)) {}

Informer::~Informer() {
  stop();
}

void Informer::addHandler(EventHandler handler) {
  std::lock_guard dispatch(dispatchMutex_);
  for (const ObjectPtr& object : cache_.list()) {
    if (handler.onAdd) {
      try {
        handler.onAdd(object);
      } catch (...) {
        ++handlerExceptions_;
      }
    }
  }
  handlers_.push_back(std::move(handler));
}

void Informer::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) {
    return;
  }
  started_ = true;
  watchThread_ = std::thread([this] {
    watcher_.run([this](WatcherEvent&& event) { consume(std::move(event)); }, options_.onFailure);
  });
  if (options_.resyncPeriod && options_.resyncPeriod->count() > 0) {
    resyncThread_ = std::thread([this] { resyncLoop(); });
  }
}

void Informer::stop() {
  std::lock_guard joining(joinMutex_);  // two stop() calls at once must not join a thread twice
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  watcher_.stop();
  if (watchThread_.joinable()) {
    watchThread_.join();
  }
  if (resyncThread_.joinable()) {
    resyncThread_.join();
  }
}

void Informer::relist() {
  watcher_.requestRelist();
}

void Informer::refilter() {
  if (!options_.transform) {
    return;
  }
  std::lock_guard dispatch(dispatchMutex_);
  for (const ObjectPtr& object : cache_.list()) {
    if (options_.transform(nlohmann::json(*object))) {
      continue;  // still admitted; the cached object stays as it is
    }
    forget(objectKey(*object));
  }
}

std::optional<nlohmann::json> Informer::admitted(nlohmann::json&& object) const {
  if (options_.transform) {
    return options_.transform(std::move(object));
  }
  return std::move(object);
}

void Informer::forget(const std::string& key) {
  ObjectPtr previous = cache_.erase(key);
  if (previous) {
    notify([&](const EventHandler& handler) {
      if (handler.onDelete) {
        handler.onDelete(previous, /*finalStateUnknown=*/false);
      }
    });
  }
}

bool Informer::writeThrough(nlohmann::json object) {
  const std::string key = objectKey(object);
  if (key.empty()) {
    return false;
  }
  std::lock_guard dispatch(dispatchMutex_);
  std::optional<nlohmann::json> kept = admitted(std::move(object));
  if (!kept) {
    return false;  // no longer admitted: the watch event removes it
  }
  auto current = std::make_shared<const nlohmann::json>(std::move(*kept));
  auto update = cache_.upsertIf(current, [&](const ObjectPtr& previous) {
    if (!previous) {
      return false;  // never cached, or deleted meanwhile: the watch decides
    }
    auto order = versionOrder(*current, *previous);
    return order && *order > 0;
  });
  if (!update.stored) {
    return false;
  }
  ++writesThrough_;
  notify([&](const EventHandler& handler) {
    if (handler.onUpdate) {
      handler.onUpdate(update.previous, current);
    }
  });
  return true;
}

bool Informer::hasSynced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

bool Informer::waitForSync(Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  while (!synced_ && !stopping_ && clock_->now() < deadline) {
    clock_->waitUntil(lock, changed_, deadline);
  }
  return synced_;
}

void Informer::consume(WatcherEvent&& event) {
  std::lock_guard dispatch(dispatchMutex_);
  switch (event.type) {
    case WatcherEventType::InitStarted:
      pending_.clear();  // an earlier list that never finished is abandoned
      break;
    case WatcherEventType::InitApply:
      if (std::optional<nlohmann::json> kept = admitted(std::move(event.object))) {
        pending_.push_back(std::make_shared<const nlohmann::json>(std::move(*kept)));
      }
      break;
    case WatcherEventType::InitDone:
      finishRelist();
      break;
    case WatcherEventType::Apply:
      applyChange(std::move(event.object));
      break;
    case WatcherEventType::Delete:
      deleteObject(std::move(event.object));
      break;
  }
}

void Informer::finishRelist() {
  // A write-through that landed while the list was under way is newer than the list's object.
  std::vector<CacheChange> changes = cache_.replace(
      std::exchange(pending_, {}), [](const nlohmann::json& cached, const nlohmann::json& listed) {
        auto order = versionOrder(listed, cached);
        return order && *order < 0;
      });
  for (const CacheChange& change : changes) {
    if (!change.current) {
      notify([&](const EventHandler& handler) {
        if (handler.onDelete) {
          handler.onDelete(change.previous, /*finalStateUnknown=*/true);
        }
      });
    } else if (!change.previous) {
      notify([&](const EventHandler& handler) {
        if (handler.onAdd) {
          handler.onAdd(change.current);
        }
      });
    } else {
      notify([&](const EventHandler& handler) {
        if (handler.onUpdate) {
          handler.onUpdate(change.previous, change.current);
        }
      });
    }
  }
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !synced_;
    synced_ = true;
  }
  if (first) {
    changed_.notify_all();
  }
}

void Informer::applyChange(nlohmann::json&& object) {
  const std::string key = objectKey(object);
  if (key.empty()) {
    return;  // nothing to key it by; the watcher only passes API objects, which all have names
  }
  std::optional<nlohmann::json> kept = admitted(std::move(object));
  if (!kept) {
    forget(key);  // not ours (any more): if it was cached, the handlers must forget it
    return;
  }
  auto current = std::make_shared<const nlohmann::json>(std::move(*kept));
  auto update = cache_.upsertIf(current, [&](const ObjectPtr& cached) {
    if (!cached) {
      return true;
    }
    auto order = versionOrder(*current, *cached);
    return !order || *order > 0;
  });
  if (!update.stored) {
    ++eventsBehindCache_;  // a write-through brought this version (or a newer one) already
    return;
  }
  const ObjectPtr& previous = update.previous;
  notify([&](const EventHandler& handler) {
    if (previous && handler.onUpdate) {
      handler.onUpdate(previous, current);
    } else if (!previous && handler.onAdd) {
      handler.onAdd(current);
    }
  });
}

void Informer::deleteObject(nlohmann::json&& object) {
  const std::string key = objectKey(object);
  ObjectPtr previous = cache_.erase(key);
  if (!previous) {
    return;  // filtered out before, or never seen: the handlers do not know it
  }
  // Handlers get the final state, shaped as the transform shapes every object they see.
  ObjectPtr last = previous;
  if (std::optional<nlohmann::json> kept = admitted(std::move(object))) {
    last = std::make_shared<const nlohmann::json>(std::move(*kept));
  }
  notify([&](const EventHandler& handler) {
    if (handler.onDelete) {
      handler.onDelete(last, /*finalStateUnknown=*/false);
    }
  });
}

void Informer::resyncLoop() {
  const std::chrono::nanoseconds period = *options_.resyncPeriod;
  std::unique_lock lock(mutex_);
  auto deadline = clock_->now() + period;
  while (!stopping_) {
    if (clock_->now() < deadline) {
      clock_->waitUntil(lock, changed_, deadline);
      continue;
    }
    deadline = clock_->now() + period;
    const bool synced = synced_;
    lock.unlock();
    if (synced) {
      std::lock_guard dispatch(dispatchMutex_);
      for (const ObjectPtr& object : cache_.list()) {
        notify([&](const EventHandler& handler) {
          if (handler.onUpdate) {
            handler.onUpdate(object, object);
          }
        });
      }
    }
    lock.lock();
  }
}

void Informer::notify(const std::function<void(const EventHandler&)>& call) {
  for (const EventHandler& handler : handlers_) {
    try {
      call(handler);
    } catch (...) {
      ++handlerExceptions_;
    }
  }
}

}  // namespace virtsnap::kube
