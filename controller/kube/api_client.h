#pragma once
// The untyped Kubernetes REST client the runtime is built on: one interface, so informers, the event
// recorder and the lease run unchanged against the HTTP client, a fault-injecting wrapper or a fake.
// Objects travel as JSON; typed_client.h adds the crds/ types on top. Every call returns a value or a
// KubeError; none throws.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/kube/kube_error.h"
#include "controller/kube/resource_type.h"

namespace virtsnap::kube {

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t limit = 0;  // 0: no paging
  std::string continueToken;
  std::string resourceVersion;       // list: "" (most recent), "0" (any); watch: where to resume
  std::string resourceVersionMatch;  // NotOlderThan | Exact, with resourceVersion
  bool allowWatchBookmarks = false;
  std::optional<int> timeoutSeconds;  // watch: the server ends the stream after this long
};

// application/merge-patch+json, application/json-patch+json, application/apply-patch+yaml.
enum class PatchType { Merge, Json, Apply };

struct PatchOptions {
  std::string fieldManager;  // required for Apply
  bool force = false;        // Apply: take over conflicting fields
  std::string subresource;   // "status" to patch status
};

struct WriteOptions {
  std::string fieldManager;
  std::string fieldValidation;  // Strict | Warn | Ignore; "" leaves it to the server
};

struct DeleteOptions {
  std::optional<std::string> preconditionUid;
  std::optional<std::string> preconditionResourceVersion;
  std::string propagationPolicy;  // Orphan | Background | Foreground; "" for the server's default
};

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

const char* watchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  nlohmann::json object;  // the object; for Error, the metav1.Status
};

// One open watch. next() blocks for the next event; it returns nullopt when the stream ended cleanly
// (the server closed it, or cancel() was called) and an error when it broke (an Error event with 410
// becomes ErrorKind::Gone).
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  virtual KubeResult<std::optional<WatchEvent>> next() = 0;
  // Ends the stream from any thread; a next() blocked in it returns.
  virtual void cancel() = 0;
};

using WatchStreamPtr = std::unique_ptr<WatchStream>;

class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual KubeResult<nlohmann::json> get(const ResourceType& type, const std::string& ns,
                                         const std::string& name) = 0;
  // The List object (items and metadata.resourceVersion / continue); ns "" lists all namespaces.
  virtual KubeResult<nlohmann::json> list(const ResourceType& type, const std::string& ns,
                                          const ListOptions& options) = 0;
  // The namespace and name come from the object's metadata.
  virtual KubeResult<nlohmann::json> create(const ResourceType& type, const nlohmann::json& object,
                                            const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> update(const ResourceType& type, const nlohmann::json& object,
                                            const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> updateStatus(const ResourceType& type, const nlohmann::json& object,
                                                  const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> patch(const ResourceType& type, const std::string& ns,
                                           const std::string& name, PatchType patchType,
                                           const std::string& body, const PatchOptions& options) = 0;
  // The server's answer: the object (still there, with a deletionTimestamp) or a Status.
  virtual KubeResult<nlohmann::json> remove(const ResourceType& type, const std::string& ns,
                                            const std::string& name, const DeleteOptions& options) = 0;
  virtual KubeResult<WatchStreamPtr> watch(const ResourceType& type, const std::string& ns,
                                           const ListOptions& options) = 0;
};

using ApiClientPtr = std::shared_ptr<ApiClient>;

}  // namespace virtsnap::kube
