#pragma once
// Events about objects, the ones `kubectl describe` lists (client-go's record.EventRecorder).
// Recording is fire-and-forget: event() never blocks on the API server and never fails. An event is
// best-effort; an implementation may combine, throttle or drop it, and counts what it dropped.
// ApiEventRecorder (event_recorder_api.h) writes them to the API server.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace virtsnap::kube {

// core/v1 Event type. Only these two exist; anything else is refused by the API server.
enum class EventType { Normal, Warning };

const char* eventTypeName(EventType type);

// core/v1 ObjectReference: the object an event is about.
struct ObjectReference {
  std::string apiVersion;
  std::string kind;
  std::string ns;  // empty for a cluster-scoped object
  std::string name;
  std::string uid;
  std::string resourceVersion;
  std::string fieldPath;  // a part of the object, e.g. "spec.disks[0]"; usually empty

  // The reference to an object as the API returns it (apiVersion, kind and metadata).
  static ObjectReference of(const nlohmann::json& object);
  // Only the fields that are set, as the API writes them.
  nlohmann::json toJson() const;
  // Empty fields where `json` lacks them.
  static ObjectReference fromJson(const nlohmann::json& json);

  friend bool operator==(const ObjectReference&, const ObjectReference&) = default;
};

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // Records that `reason` (short, UpperCamelCase, stable: people filter on it) happened to `object`,
  // with a human-readable `message`. Returns at once; callable from any thread.
  virtual void event(const ObjectReference& object, EventType type, const std::string& reason,
                     const std::string& message) = 0;
  // The same for an object as the API returns it.
  void event(const nlohmann::json& object, EventType type, const std::string& reason,
             const std::string& message) {
    event(ObjectReference::of(object), type, reason, message);
  }
};

using EventRecorderPtr = std::shared_ptr<EventRecorder>;

}  // namespace virtsnap::kube
