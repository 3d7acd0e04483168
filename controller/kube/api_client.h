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
#include "crds/meta/list_options.h"
#include "crds/meta/patch_type.h"
#include "crds/meta/resource_type.h"
#include "crds/meta/watch_event.h"

namespace virtsnap::kube {

// The vocabulary client and server share (crds/meta/).
using meta::ListOptions;
using meta::PatchType;
using meta::WatchEvent;
using meta::WatchEventType;
using meta::watchEventTypeName;

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
  virtual KubeResult<nlohmann::json> get(const meta::ResourceType& type, const std::string& ns,
                                         const std::string& name) = 0;
  // The List object (items and metadata.resourceVersion / continue); ns "" lists all namespaces.
  virtual KubeResult<nlohmann::json> list(const meta::ResourceType& type, const std::string& ns,
                                          const ListOptions& options) = 0;
  // The namespace and name come from the object's metadata.
  virtual KubeResult<nlohmann::json> create(const meta::ResourceType& type, const nlohmann::json& object,
                                            const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> update(const meta::ResourceType& type, const nlohmann::json& object,
                                            const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> updateStatus(const meta::ResourceType& type,
                                                  const nlohmann::json& object,
                                                  const WriteOptions& options) = 0;
  virtual KubeResult<nlohmann::json> patch(const meta::ResourceType& type, const std::string& ns,
                                           const std::string& name, PatchType patchType,
                                           const std::string& body, const PatchOptions& options) = 0;
  // The server's answer: the object (still there, with a deletionTimestamp) or a Status.
  virtual KubeResult<nlohmann::json> remove(const meta::ResourceType& type, const std::string& ns,
                                            const std::string& name, const DeleteOptions& options) = 0;
  virtual KubeResult<WatchStreamPtr> watch(const meta::ResourceType& type, const std::string& ns,
                                           const ListOptions& options) = 0;
};

using ApiClientPtr = std::shared_ptr<ApiClient>;

}  // namespace virtsnap::kube
