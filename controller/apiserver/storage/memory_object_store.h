#pragma once
// The ObjectStore: every object in memory (per type, sorted by namespace/name), every acknowledged
// write in the write-ahead log first, changes fanned out to watches by the WatchHub.
// One mutex guards the objects, the resourceVersion counter and the log; watch consumers never take
// it (they read their own queues), so a slow watch cannot hold up a writer.
// The members are defined by job: here (open, lookups), memory_object_store_log.cpp (replay, commit,
// compaction), _create, _update, _patch (patches and apply), _remove, _namespaces and _reads.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "controller/apiserver/storage/object_store.h"
#include "controller/apiserver/storage/server_side_apply.h"
#include "controller/apiserver/storage/watch_hub.h"
#include "controller/apiserver/storage/write_ahead_log.h"

namespace virtsnap::apiserver {

struct StoreOptions {
  WatchHubOptions watch;
  std::uint64_t compactAfterBytes = 16u << 20;  // snapshot + empty log once the log is this big
  // For tests: runs on the compaction thread before it writes the snapshot.
  std::function<void()> beforeSnapshotWrite;
};

class MemoryObjectStore : public ObjectStore {
 public:
  static Expected<std::unique_ptr<MemoryObjectStore>, std::string> open(std::filesystem::path dataDir,
                                                                        const ResourceRegistry& registry,
                                                                        Now now, StoreOptions options);
  ~MemoryObjectStore() override;

  ApiResult<nlohmann::json> create(const ServedResource& type, const std::string& ns, nlohmann::json object,
                                   const WriteOptions& options, std::vector<std::string>* warnings) override;
  ApiResult<nlohmann::json> get(const ServedResource& type, const std::string& ns,
                                const std::string& name) override;
  ApiResult<nlohmann::json> list(const ServedResource& type, const std::string& ns,
                                 const ListOptions& options) override;
  ApiResult<nlohmann::json> update(const ServedResource& type, const std::string& ns, const std::string& name,
                                   nlohmann::json object, bool statusSubresource, const WriteOptions& options,
                                   std::vector<std::string>* warnings) override;
  ApiResult<nlohmann::json> patch(const ServedResource& type, const std::string& ns, const std::string& name,
                                  PatchType patchType, const std::string& body, bool statusSubresource,
                                  const WriteOptions& options, std::vector<std::string>* warnings) override;
  ApiResult<nlohmann::json> remove(const ServedResource& type, const std::string& ns, const std::string& name,
                                   const nlohmann::json& deleteOptions) override;
  ApiResult<std::shared_ptr<Watch>> watch(const ServedResource& type, const std::string& ns,
                                          const ListOptions& options) override;
  std::uint64_t resourceVersion() const override;

  // For tests and metrics.
  std::size_t watchCount() const { return hub_->watchCount(); }
  std::uint64_t logBytes() const;
  // Returns once no compaction is writing its snapshot.
  void waitForCompaction();

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  using Objects = std::map<Key, nlohmann::json>;

  MemoryObjectStore(Now now, StoreOptions options) : now_(std::move(now)), options_(options) {}

  // The key of `type`'s objects in resources_ and in the log: "<group>/<plural>".
  static std::string resourceKey(const ServedResource& type);

  std::optional<std::string> replay(const WriteAheadLog::Contents& contents);
  std::optional<std::string> createDefaultNamespaces();
  // Deleting a namespace (kube's namespace lifecycle): it turns Terminating, everything in it is
  // deleted (objects with finalizers wait for them), and it goes once it is empty and has no
  // finalizers of its own. New objects in a Terminating namespace are refused.
  ApiResult<nlohmann::json> removeNamespaceLocked(const std::string& name,
                                                  const nlohmann::json& deleteOptions);
  std::optional<ApiError> finishNamespaceIfEmpty(const std::string& ns);
  bool namespaceEmpty(const std::string& ns) const;

  // Everything below runs with mutex_ held.
  ApiResult<nlohmann::json> removeLocked(const ServedResource& type, const std::string& ns,
                                         const std::string& name, const nlohmann::json& deleteOptions);
  ApiResult<nlohmann::json> createLocked(const ServedResource& type, const std::string& ns,
                                         nlohmann::json object, const WriteOptions& options,
                                         std::vector<std::string>* warnings,
                                         const std::optional<std::string>& applyManager);
  ApiResult<nlohmann::json> applyLocked(const ServedResource& type, const std::string& ns,
                                        const std::string& name, const std::string& body,
                                        bool statusSubresource, const WriteOptions& options,
                                        std::vector<std::string>* warnings);
  // Checks, validates and commits `updated` over `old` (prepared: subresource rules applied).
  ApiResult<nlohmann::json> finishUpdate(const ServedResource& type, const nlohmann::json& old,
                                         nlohmann::json updated, bool statusSubresource,
                                         const WriteOptions& options, std::vector<std::string>* warnings,
                                         bool recordManager);
  std::optional<ApiError> commit(const ServedResource& type, meta::WatchEventType eventType,
                                 nlohmann::json& object, const nlohmann::json* previous);
  // Compaction: under mutex_, the log is moved aside and the objects copied; a thread of its own
  // writes them as the snapshot, so that writers wait only for the copy, not the write and fsync.
  void compactIfDue();
  void writeSnapshot(nlohmann::json snapshot);
  const nlohmann::json* find(const ServedResource& type, const std::string& ns,
                             const std::string& name) const;
  std::string timestamp() const;

  Now now_;
  StoreOptions options_;
  std::optional<ServedResource> namespaceType_;  // core/v1 namespaces, when the registry serves it
  std::vector<ServedResource> namespacedTypes_;

  mutable std::mutex mutex_;                  // guards resources_, version_, log_ and compacting_
  std::map<std::string, Objects> resources_;  // group/plural -> objects
  std::uint64_t version_ = 0;
  std::unique_ptr<WriteAheadLog> log_;
  bool compacting_ = false;  // a snapshot is being written (by compactor_)
  std::condition_variable compacted_;
  std::thread compactor_;

  std::unique_ptr<WatchHub> hub_;  // own lock; publish() is called with mutex_ held
};

}  // namespace virtsnap::apiserver
