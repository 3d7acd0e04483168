#pragma once
// The writes the reconcilers make besides hypervisor work, in one place: finalizers (a merge patch
// carrying the resourceVersion read, so a concurrent change is a Conflict and a retry, never a lost
// update) and status (through /status, only when it differs from what was read).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "controller/kube/event_recorder.h"
#include "controller/kube/typed_client.h"

namespace virtsnap::reconcilers {

template <typename T>
kube::KubeResult<T> setFinalizer(kube::TypedClient<T>& client, const T& object, std::string_view finalizer,
                                 bool present) {
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
  return client.patch(object.metadata.namespaceName.value_or(""), object.metadata.name.value_or(""),
                      kube::PatchType::Merge, patch.dump());
}

// Writes `status` when it differs from the object's; returns the object as the server left it.
template <typename T, typename Status>
kube::KubeResult<T> writeStatus(kube::TypedClient<T>& client, const T& object, const Status& status) {
  if (object.status && *object.status == status) {
    return object;
  }
  T updated = object;
  updated.status = status;
  return client.updateStatus(updated);
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
