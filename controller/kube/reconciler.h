#pragma once
// What a controller drives (controller-runtime's reconcile.Reconciler): given only the key of an object,
// bring the world in line with it. Reconciliation is level-based, so a Request carries no event payload:
// the reconciler reads the current state itself.

#include <optional>
#include <string>
#include <string_view>

#include "controller/kube/reconcile_result.h"

namespace virtsnap::kube {

struct Request {
  std::string ns;  // empty for a cluster-scoped object
  std::string name;

  // The work queue key: "namespace/name", or "name" when there is no namespace (client-go's
  // MetaNamespaceKeyFunc).
  std::string key() const;
  // The inverse of key(); nullopt for a key with more than one '/' or an empty name.
  static std::optional<Request> fromKey(std::string_view key);

  friend bool operator==(const Request&, const Request&) = default;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // Called for one key at a time (never twice at once for the same key). Should not throw; a thrown
  // exception is caught by the controller and treated as an error (rate-limited retry).
  virtual ReconcileResult reconcile(const Request& request) = 0;
};

}  // namespace virtsnap::kube
