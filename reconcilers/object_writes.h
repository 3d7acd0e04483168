#pragma once
// The writes the reconcilers make besides hypervisor work, in one place: finalizers (a merge patch
// carrying the resourceVersion read, so a concurrent change is a Conflict and a retry, never a lost
// update) and status (through /status, only when it differs from what was read). Each write is
// recorded in the reconciler's OwnWrites, so its next reconcile does not start from a cache that has
// not seen it yet.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "controller/kube/event_recorder.h"
#include "controller/kube/json_fields.h"
#include "controller/kube/object_cache.h"
#include "controller/kube/typed_client.h"
#include "reconcilers/own_writes.h"

namespace virtsnap::reconcilers {

// Records in `writes` which resourceVersion a successful write of `object` replaced.
template <typename T>
void recordWrite(OwnWrites& writes, const T& before, const kube::KubeResult<T>& after) {
  if (after) {
    writes.wrote(
        kube::objectKey(before.metadata.namespaceName.value_or(""), before.metadata.name.value_or("")),
        before.metadata.resourceVersion.value_or(""), after->metadata.resourceVersion.value_or(""));
  }
}

// Whether `cached`, the informer's copy of the object at `key` (null: gone), predates a write this
// reconciler made: then the watch event of that write enqueues the object again, and acting on the
// old copy now would only write from a stale state (a Conflict).
inline bool behindOwnWrite(OwnWrites& writes, const std::string& key, const kube::ObjectPtr& cached) {
  if (!cached) {
    writes.forget(key);
    return false;
  }
  const auto metadata = cached->find("metadata");
  return metadata != cached->end() && writes.stale(key, kube::stringField(*metadata, "resourceVersion"));
}

template <typename T>
kube::KubeResult<T> setFinalizer(kube::TypedClient<T>& client, OwnWrites& writes, const T& object,
                                 std::string_view finalizer, bool present) {
  std::vector<std::string> finalizers = object.metadata.finalizers.value_or(std::vector<std::string>{});
  auto it = std::find(finalizers.begin(), finalizers.end(), finalizer);
  if (present == (it != finalizers.end())) {
    return object;
  }
  if (present) {
    finalizers.emplace_back(finalizer);
  } else {
    finalizers.erase(it);
  }
  nlohmann::json patch = {
      {"metadata",
       {{"finalizers", finalizers}, {"resourceVersion", object.metadata.resourceVersion.value_or("")}}}};
  auto patched = client.patch(object.metadata.namespaceName.value_or(""), object.metadata.name.value_or(""),
                              kube::PatchType::Merge, patch.dump());
  recordWrite(writes, object, patched);
  return patched;
}

// Writes `status` when it differs from the object's; returns the object as the server left it.
template <typename T, typename Status>
kube::KubeResult<T> writeStatus(kube::TypedClient<T>& client, OwnWrites& writes, const T& object,
                                const Status& status) {
  if (object.status && *object.status == status) {
    return object;
  }
  T updated = object;
  updated.status = status;
  auto written = client.updateStatus(updated);
  recordWrite(writes, object, written);
  return written;
}

}  // namespace virtsnap::reconcilers

namespace virtsnap::reconcilers {

// The reference an Event about `object` carries.
template <typename T>
kube::ObjectReference referenceTo(const T& object) {
  kube::ObjectReference reference;
  reference.apiVersion = object.typeMeta.apiVersion;
  reference.kind = object.typeMeta.kind;
  reference.ns = object.metadata.namespaceName.value_or("");
  reference.name = object.metadata.name.value_or("");
  reference.uid = object.metadata.uid.value_or("");
  reference.resourceVersion = object.metadata.resourceVersion.value_or("");
  return reference;
}

}  // namespace virtsnap::reconcilers
