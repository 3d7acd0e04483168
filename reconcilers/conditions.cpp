#include "reconcilers/conditions.h"

#include <algorithm>

#include "crds/meta/time.h"

namespace virtsnap::reconcilers {
namespace {

using meta::Condition;
using meta::ConditionStatus;

bool byType(const Condition& a, const Condition& b) {
  return a.type < b.type;
}

// Cuts `message` to at most kMaxConditionMessageBytes without splitting a UTF-8 sequence.
std::string boundedMessage(const std::string& message) {
  if (message.size() <= kMaxConditionMessageBytes) {
    return message;
  }
  std::size_t end = kMaxConditionMessageBytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) {
    --end;  // message[end] continues a sequence that started before it
  }
  return message.substr(0, end);
}

bool isReasonChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ',' ||
         c == ':';
}

}  // namespace

bool isConditionTrue(const std::optional<Conditions>& conditions, std::string_view type) {
  return meta::trueCondition(conditions, type) != nullptr;
}

bool setCondition(Conditions& conditions, const ConditionUpdate& update, Clock::time_point now) {
  bool changed = false;
  if (!std::is_sorted(conditions.begin(), conditions.end(), byType)) {
    std::stable_sort(conditions.begin(), conditions.end(), byType);
    changed = true;
  }
  const std::string message = boundedMessage(update.message);
  auto it = std::lower_bound(
      conditions.begin(), conditions.end(), update.type,
      [](const Condition& condition, const std::string& type) { return condition.type < type; });
  if (it == conditions.end() || it->type != update.type) {
    conditions.insert(it, Condition{update.type, update.status, update.observedGeneration,
                                    meta::formatTime(now), update.reason, message});
    return true;
  }
  Condition& existing = *it;
  if (existing.status != update.status) {
    existing.status = update.status;
    existing.lastTransitionTime = meta::formatTime(now);
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
  if (existing.observedGeneration != update.observedGeneration) {
    existing.observedGeneration = update.observedGeneration;
    changed = true;
  }
  return changed;
}

bool setCondition(std::optional<Conditions>& conditions, const ConditionUpdate& update,
                  Clock::time_point now) {
  if (!conditions) {
    conditions.emplace();
  }
  return setCondition(*conditions, update, now);
}

bool removeCondition(Conditions& conditions, std::string_view type) {
  const auto it = std::remove_if(conditions.begin(), conditions.end(),
                                 [type](const Condition& condition) { return condition.type == type; });
  if (it == conditions.end()) {
    return false;
  }
  conditions.erase(it, conditions.end());
  return true;
}

bool removeCondition(std::optional<Conditions>& conditions, std::string_view type) {
  if (!conditions || !removeCondition(*conditions, type)) {
    return false;
  }
  if (conditions->empty()) {
    conditions.reset();
  }
  return true;
}

bool isValidConditionReason(std::string_view reason) {
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
  return std::all_of(reason.begin(), reason.end(), isReasonChar);
}

bool applyReconcileOutcome(std::optional<Conditions>& conditions, const ReconcileOutcome& outcome,
                           std::int64_t generation, Clock::time_point now) {
  const bool ready = outcome.state == ReconcileState::Ready;
  bool changed = setCondition(
      conditions,
      {std::string(meta::kConditionReady), ready ? ConditionStatus::True : ConditionStatus::False,
       outcome.reason, outcome.message, generation},
      now);
  if (outcome.state == ReconcileState::InProgress) {
    changed |= setCondition(conditions,
                            {std::string(meta::kConditionReconciling), ConditionStatus::True, outcome.reason,
                             outcome.message, generation},
                            now);
  } else {
    changed |= removeCondition(conditions, meta::kConditionReconciling);
  }
  if (outcome.state == ReconcileState::Stalled) {
    changed |= setCondition(conditions,
                            {std::string(meta::kConditionStalled), ConditionStatus::True, outcome.reason,
                             outcome.message, generation},
                            now);
  } else {
    changed |= removeCondition(conditions, meta::kConditionStalled);
  }
  return changed;
}

KstatusHealth computeKstatusHealth(const std::optional<Conditions>& conditions, std::int64_t generation,
                                   std::optional<std::int64_t> observedGeneration) {
  if (observedGeneration && *observedGeneration != generation) {
    return KstatusHealth::InProgress;
  }
  if (isConditionTrue(conditions, meta::kConditionReconciling)) {
    return KstatusHealth::InProgress;
  }
  if (isConditionTrue(conditions, meta::kConditionStalled)) {
    return KstatusHealth::Failed;
  }
  if (isConditionTrue(conditions, meta::kConditionReady)) {
    return KstatusHealth::Current;
  }
  return KstatusHealth::InProgress;
}

}  // namespace virtsnap::reconcilers
