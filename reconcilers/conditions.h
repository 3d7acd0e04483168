#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crds/meta/condition.h"

namespace virtsnap::reconcilers {

// Conditions the Kubernetes way (k8s.io/apimachinery meta.SetStatusCondition) plus kstatus's
// Ready/Reconciling/Stalled, for all three kinds. Guarantees:
//  - lastTransitionTime changes only when a condition's status changes (or it is new);
//  - reason, message and observedGeneration are always brought up to date;
//  - the list is kept sorted by type, so equal states encode to equal JSON and a no-op reconcile
//    writes nothing;
//  - every mutator reports whether it changed anything, which is what decides a status write.
// Time is passed in; nothing here reads a clock.

using Conditions = std::vector<meta::Condition>;
using Clock = std::chrono::system_clock;

// The schema's limit for message (metav1.Condition); longer messages are cut at a UTF-8 boundary.
inline constexpr std::size_t kMaxConditionMessageBytes = 32768;

// What a condition should say. observedGeneration is the metadata.generation being reconciled.
struct ConditionUpdate {
  std::string type;
  meta::ConditionStatus status = meta::ConditionStatus::Unknown;
  std::string reason;  // CamelCase, see isValidConditionReason
  std::string message;
  std::int64_t observedGeneration = 0;
};

using meta::findCondition;
// Whether the condition of `type` exists with status True.
bool isConditionTrue(const std::optional<Conditions>& conditions, std::string_view type);

// Adds or updates the condition of update.type at time `now`; returns whether anything changed
// (including re-sorting a list that arrived unsorted).
bool setCondition(Conditions& conditions, const ConditionUpdate& update, Clock::time_point now);
// For the optional lists of the status structs: an absent list is created.
bool setCondition(std::optional<Conditions>& conditions, const ConditionUpdate& update,
                  Clock::time_point now);

// Removes the condition of `type`; returns whether it was there. An emptied optional list
// becomes absent again, as Go's omitempty would write it.
bool removeCondition(Conditions& conditions, std::string_view type);
bool removeCondition(std::optional<Conditions>& conditions, std::string_view type);

// metav1.Condition's reason pattern: ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$, at most 1024 bytes.
bool isValidConditionReason(std::string_view reason);

// ---- kstatus ----------------------------------------------------------------------------------

// Where one reconcile left the object; the three kstatus conditions follow from it.
enum class ReconcileState {
  Ready,       // converged: Ready=True; Reconciling and Stalled absent
  InProgress,  // work under way or requeued: Ready=False, Reconciling=True; Stalled absent
  Stalled,     // cannot progress without a change (bad input, refusal): Ready=False, Stalled=True;
               // Reconciling absent
};

struct ReconcileOutcome {
  ReconcileState state = ReconcileState::InProgress;
  std::string reason;   // becomes the reason of Ready and of Reconciling/Stalled
  std::string message;  // becomes their message
};

// Sets Ready, Reconciling and Stalled consistently for `outcome`; returns whether anything changed.
bool applyReconcileOutcome(std::optional<Conditions>& conditions, const ReconcileOutcome& outcome,
                           std::int64_t generation, Clock::time_point now);

// kstatus's reading of an object, as Flux and Argo CD compute it.
enum class KstatusHealth { Current, InProgress, Failed };

// In kstatus's order: InProgress when status.observedGeneration is present and differs from the
// generation, or Reconciling=True; Failed when Stalled=True; Current when Ready=True; else
// InProgress.
KstatusHealth computeKstatusHealth(const std::optional<Conditions>& conditions, std::int64_t generation,
                                   std::optional<std::int64_t> observedGeneration);

}  // namespace virtsnap::reconcilers
