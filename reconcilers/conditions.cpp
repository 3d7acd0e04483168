#include "reconcilers/conditions.h"

#include <algorithm>

#include "crds/meta/time.h"

namespace virtsnap::reconcilers {
namespace {

using crds::Condition;
using crds::ConditionStatus;

bool ByType(const Condition& a, const Condition& b) {
  return a.type < b.type;
}

// Cuts `message` to at most kMaxConditionMessageBytes without splitting a UTF-8 sequence.
std::string BoundedMessage(const std::string& message) {
  if (message.size() <= kMaxConditionMessageBytes) {
    return message;
  }
  std::size_t end = kMaxConditionMessageBytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) {
    --end;  // message[end] continues a sequence that started before it
  }
  return message.substr(0, end);
}

bool IsReasonChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ',' ||
         c == ':';
}

}  // namespace

const Condition* FindCondition(const Conditions& conditions, std::string_view type) {
  const auto it = std::find_if(conditions.begin(), conditions.end(),
                               [type](const Condition& condition) { return condition.type == type; });
  return it == conditions.end() ? nullptr : &*it;
}

const Condition* FindCondition(const std::optional<Conditions>& conditions, std::string_view type) {
  return conditions ? FindCondition(*conditions, type) : nullptr;
}

bool IsConditionTrue(const std::optional<Conditions>& conditions, std::string_view type) {
  const Condition* condition = FindCondition(conditions, type);
  return condition != nullptr && condition->status == ConditionStatus::kTrue;
}

bool SetCondition(Conditions& conditions, const ConditionUpdate& update, Clock::time_point now) {
  bool changed = false;
  if (!std::is_sorted(conditions.begin(), conditions.end(), ByType)) {
    std::stable_sort(conditions.begin(), conditions.end(), ByType);
    changed = true;
  }
  const std::string message = BoundedMessage(update.message);
  auto it = std::lower_bound(
      conditions.begin(), conditions.end(), update.type,
      [](const Condition& condition, const std::string& type) { return condition.type < type; });
  if (it == conditions.end() || it->type != update.type) {
    conditions.insert(it, Condition{update.type, update.status, update.observed_generation,
                                    meta::formatTime(now), update.reason, message});
    return true;
  }
  Condition& existing = *it;
  if (existing.status != update.status) {
    existing.status = update.status;
    existing.last_transition_time = meta::formatTime(now);
    changed = true;
  }
  if (existing.reason != update.reason) {
    existing.reason = update.reason;
    changed = true;
  }
  if (existing.message != message) {
    existing.message = message;
    changed = true;
  }
  if (existing.observed_generation != update.observed_generation) {
    existing.observed_generation = update.observed_generation;
    changed = true;
  }
  return changed;
}

bool SetCondition(std::optional<Conditions>& conditions, const ConditionUpdate& update,
                  Clock::time_point now) {
  if (!conditions) {
    conditions.emplace();
  }
  return SetCondition(*conditions, update, now);
}

bool RemoveCondition(Conditions& conditions, std::string_view type) {
  const auto it = std::remove_if(conditions.begin(), conditions.end(),
                                 [type](const Condition& condition) { return condition.type == type; });
  if (it == conditions.end()) {
    return false;
  }
  conditions.erase(it, conditions.end());
  return true;
}

bool RemoveCondition(std::optional<Conditions>& conditions, std::string_view type) {
  if (!conditions || !RemoveCondition(*conditions, type)) {
    return false;
  }
  if (conditions->empty()) {
    conditions.reset();
  }
  return true;
}

bool IsValidConditionReason(std::string_view reason) {
  if (reason.empty() || reason.size() > 1024) {
    return false;
  }
  const char first = reason.front();
  const char last = reason.back();
  if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z'))) {
    return false;
  }
  if (last == ',' || last == ':') {
    return false;
  }
  return std::all_of(reason.begin(), reason.end(), IsReasonChar);
}

bool ApplyReconcileOutcome(std::optional<Conditions>& conditions, const ReconcileOutcome& outcome,
                           std::int64_t generation, Clock::time_point now) {
  const bool ready = outcome.state == ReconcileState::kReady;
  bool changed = SetCondition(
      conditions,
      {std::string(crds::kConditionReady), ready ? ConditionStatus::kTrue : ConditionStatus::kFalse,
       outcome.reason, outcome.message, generation},
      now);
  if (outcome.state == ReconcileState::kInProgress) {
    changed |= SetCondition(conditions,
                            {std::string(crds::kConditionReconciling), ConditionStatus::kTrue, outcome.reason,
                             outcome.message, generation},
                            now);
  } else {
    changed |= RemoveCondition(conditions, crds::kConditionReconciling);
  }
  if (outcome.state == ReconcileState::kStalled) {
    changed |= SetCondition(conditions,
                            {std::string(crds::kConditionStalled), ConditionStatus::kTrue, outcome.reason,
                             outcome.message, generation},
                            now);
  } else {
    changed |= RemoveCondition(conditions, crds::kConditionStalled);
  }
  return changed;
}

KstatusHealth ComputeKstatusHealth(const std::optional<Conditions>& conditions, std::int64_t generation,
                                   std::optional<std::int64_t> observed_generation) {
  if (observed_generation && *observed_generation != generation) {
    return KstatusHealth::kInProgress;
  }
  if (IsConditionTrue(conditions, crds::kConditionReconciling)) {
    return KstatusHealth::kInProgress;
  }
  if (IsConditionTrue(conditions, crds::kConditionStalled)) {
    return KstatusHealth::kFailed;
  }
  if (IsConditionTrue(conditions, crds::kConditionReady)) {
    return KstatusHealth::kCurrent;
  }
  return KstatusHealth::kInProgress;
}

}  // namespace virtsnap::reconcilers
