#include "controller/kube/reconcile_result.h"

namespace virtsnap::kube {

const char* reconcileResultKindName(ReconcileResult::Kind kind) {
  switch (kind) {
    case ReconcileResult::Kind::Done:
      return "Done";
    case ReconcileResult::Kind::RequeueAfter:
      return "RequeueAfter";
    case ReconcileResult::Kind::Error:
      return "Error";
    case ReconcileResult::Kind::TerminalError:
      return "TerminalError";
  }
  return "Unknown";
}

}  // namespace virtsnap::kube
