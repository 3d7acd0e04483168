// The store and its write-ahead log: the objects rebuilt from the log at open, every change logged
// before it is applied and published, and the log compacted into a snapshot once it is big.

#include <algorithm>

#include "base/logger.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "controller/apiserver/storage/object_fields.h"
#include "controller/apiserver/storage/store_errors.h"

namespace virtsnap::apiserver {

using nlohmann::json;

std::optional<std::string> MemoryObjectStore::replay(const WriteAheadLog::Contents& contents) {
  if (contents.snapshot) {
    const json& snapshot = *contents.snapshot;
    version_ = snapshot.value("rv", std::uint64_t{0});
    for (const json& item : snapshot.value("objects", json::array())) {
      const json& object = item["object"];
      const json& metadata = metadataOf(object);
      resources_[item.value("resource", "")]
                [{stringField(metadata, "namespace"), stringField(metadata, "name")}] = object;
    }
  }
  const std::uint64_t snapshotVersion = version_;
  for (const json& record : contents.records) {
    std::uint64_t version = record.value("rv", std::uint64_t{0});
    if (version <= snapshotVersion) {
      continue;  // a compaction finished its snapshot but not the log reset
    }
    Key key{record.value("namespace", ""), record.value("name", "")};
    Objects& objects = resources_[record.value("resource", "")];
    std::string op = record.value("op", "");
    if (op == "put") {
      objects[key] = record["object"];
    } else if (op == "delete") {
      objects.erase(key);
    } else {
      return log_->logPath().string() + ": a record with the unknown operation \"" + op + "\" (rv " +
             std::to_string(version) + ")";
    }
    version_ = std::max(version_, version);
  }
  return std::nullopt;
}

std::optional<ApiError> MemoryObjectStore::commit(const ServedResource& type, meta::WatchEventType eventType,
                                                  json& object, const json* previous) {
  const std::uint64_t version = version_ + 1;
  json& metadata = metadataOf(object);
  metadata["resourceVersion"] = std::to_string(version);
  std::string ns = stringField(metadata, "namespace");
  std::string name = stringField(metadata, "name");
  json record{{"rv", version}, {"resource", resourceKey(type)}, {"namespace", ns}, {"name", name}};
  if (eventType == meta::WatchEventType::Deleted) {
    record["op"] = "delete";
  } else {
    record["op"] = "put";
    record["object"] = object;
  }
  if (auto problem = log_->append(record)) {
    return internalError(*problem);
  }
  version_ = version;
  Objects& objects = resources_[resourceKey(type)];
  if (eventType == meta::WatchEventType::Deleted) {
    objects.erase({ns, name});
  } else {
    objects[{ns, name}] = object;
  }
  auto event = std::make_shared<StoreEvent>();
  event->type = eventType;
  event->resourceVersion = version;
  event->resource = resourceKey(type);
  event->ns = ns;
  event->object = object;
  if (previous != nullptr && eventType == meta::WatchEventType::Modified) {
    event->previous = *previous;
  }
  hub_->publish(std::move(event));
  compactIfDue();
  if (eventType == meta::WatchEventType::Deleted && type.namespaced && !ns.empty()) {
    return finishNamespaceIfEmpty(ns);  // the last object of a Terminating namespace is gone
  }
  return std::nullopt;
}

void MemoryObjectStore::compactIfDue() {
  if (compacting_ || log_->logBytes() < options_.compactAfterBytes) {
    return;
  }
  // The write that triggered this is already durable in the log, so a failure here loses nothing.
  if (auto problem = log_->beginCompaction()) {
    logLine(LogLevel::Warning, "apiserver", "log compaction failed (will retry): " + *problem);
    return;
  }
  json objects = json::array();
  for (const auto& [resource, items] : resources_) {
    for (const auto& [key, object] : items) {
      objects.push_back({{"resource", resource}, {"object", object}});
    }
  }
  if (compactor_.joinable()) {
    compactor_.join();  // the previous one has finished: it cleared compacting_ as its last step
  }
  try {
    compactor_ = std::thread(&MemoryObjectStore::writeSnapshot, this,
                             json{{"rv", version_}, {"objects", std::move(objects)}});
    compacting_ = true;
  } catch (const std::exception& e) {  // no thread: the next compaction covers both logs
    logLine(LogLevel::Warning, "apiserver", std::string("log compaction failed (will retry): ") + e.what());
  }
}

void MemoryObjectStore::writeSnapshot(json snapshot) {
  if (options_.beforeSnapshotWrite) {
    options_.beforeSnapshotWrite();
  }
  std::optional<std::string> problem;
  try {
    problem = log_->writeSnapshot(snapshot);
  } catch (const std::exception& e) {  // bad_alloc serializing it: this compaction fails, not the server
    problem = e.what();
  }
  snapshot = json();  // the copy of every object goes before writers are told
  if (problem) {
    logLine(LogLevel::Warning, "apiserver", "log compaction failed (will retry): " + *problem);
  }
  std::lock_guard lock(mutex_);
  compacting_ = false;
  compacted_.notify_all();
}

void MemoryObjectStore::waitForCompaction() {
  std::unique_lock lock(mutex_);
  compacted_.wait(lock, [this] { return !compacting_; });
}

}  // namespace virtsnap::apiserver
