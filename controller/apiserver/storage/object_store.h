#pragma once
// The embedded API server's storage and semantics, without HTTP: objects of every registered type,
// resourceVersion (one counter, increasing across restarts), uid, generation (bumped by spec changes,
// not by /status writes), creationTimestamp, optimistic concurrency (409 on a stale resourceVersion),
// finalizers and deletionTimestamp, label and field selectors, limit/continue, patches (merge, JSON,
// server-side apply with managedFields), watches with resume from a resourceVersion (410 Expired when
// it is older than the kept history) and bookmarks. Every acknowledged write is in a write-ahead log
// under the data directory (fsync'ed) before the call returns; a corrupt or truncated log is a clear
// error at open, never silent loss. Thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/expected.h"
#include "controller/apiserver/api_error.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/validation/schema_validator.h"
#include "crds/meta/list_options.h"
#include "crds/meta/patch_type.h"
#include "crds/meta/watch_event.h"

namespace virtsnap::apiserver {

template <typename T>
using ApiResult = Expected<T, ApiError>;

// The vocabulary client and server share (crds/meta/).
using meta::ListOptions;
using meta::PatchType;
using meta::WatchEvent;
using meta::WatchEventType;

struct WriteOptions {
  bool dryRun = false;
  FieldValidation fieldValidation = FieldValidation::Strict;
  std::string fieldManager;  // required for Apply
  bool force = false;        // Apply: take over conflicting fields
};

// One open watch. Events arrive in resourceVersion order; next() blocks up to `timeout`.
class Watch {
 public:
  virtual ~Watch() = default;
  virtual std::optional<WatchEvent> next(std::chrono::milliseconds timeout) = 0;
  virtual void stop() = 0;
  // True once the watch is over for good (stopped, store closed, or the consumer fell too far behind):
  // next() then returns nullopt at once and the stream should end.
  virtual bool ended() const { return false; }
};

class ObjectStore {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;

  // Opens (or creates) the store under `dataDir`, replaying its log.
  static Expected<std::unique_ptr<ObjectStore>, std::string> open(std::filesystem::path dataDir,
                                                                  const ResourceRegistry& registry,
                                                                  Now now = {});
  virtual ~ObjectStore() = default;

  // `ns` is empty for cluster-scoped types (and, for list/watch, means all namespaces).
  virtual ApiResult<nlohmann::json> create(const ServedResource& type, const std::string& ns,
                                           nlohmann::json object, const WriteOptions& options,
                                           std::vector<std::string>* warnings) = 0;
  virtual ApiResult<nlohmann::json> get(const ServedResource& type, const std::string& ns,
                                        const std::string& name) = 0;
  // A List object (kind <Kind>List) with metadata.resourceVersion and, when cut by limit, continue.
  virtual ApiResult<nlohmann::json> list(const ServedResource& type, const std::string& ns,
                                         const ListOptions& options) = 0;
  virtual ApiResult<nlohmann::json> update(const ServedResource& type, const std::string& ns,
                                           const std::string& name, nlohmann::json object,
                                           bool statusSubresource, const WriteOptions& options,
                                           std::vector<std::string>* warnings) = 0;
  virtual ApiResult<nlohmann::json> patch(const ServedResource& type, const std::string& ns,
                                          const std::string& name, PatchType patchType,
                                          const std::string& body, bool statusSubresource,
                                          const WriteOptions& options,
                                          std::vector<std::string>* warnings) = 0;
  // Deletes, or (with finalizers) sets deletionTimestamp and returns the object. `deleteOptions` is a
  // metav1.DeleteOptions body (preconditions.uid / resourceVersion honoured; may be null).
  virtual ApiResult<nlohmann::json> remove(const ServedResource& type, const std::string& ns,
                                           const std::string& name, const nlohmann::json& deleteOptions) = 0;
  virtual ApiResult<std::shared_ptr<Watch>> watch(const ServedResource& type, const std::string& ns,
                                                  const ListOptions& options) = 0;
  virtual std::uint64_t resourceVersion() const = 0;
};

}  // namespace virtsnap::apiserver
