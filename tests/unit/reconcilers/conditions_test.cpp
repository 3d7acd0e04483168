// One test per rule of reconcilers/conditions.h.
#include "reconcilers/conditions.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"

namespace virtsnap::reconcilers {
namespace {

using crds::Condition;
using crds::ConditionStatus;
using ::testing::ElementsAre;
using ::testing::Field;

const Clock::time_point kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours{12};
const Clock::time_point kT1 = kT0 + std::chrono::minutes{5};
constexpr const char* kT0Text = "2024-05-01T12:00:00Z";
constexpr const char* kT1Text = "2024-05-01T12:05:00Z";

ConditionUpdate Ready(ConditionStatus status, std::string reason = "Reconciled", std::string message = "ok",
                      std::int64_t generation = 1) {
  return {"Ready", status, std::move(reason), std::move(message), generation};
}

auto HasType(const std::string& type) {
  return Field(&Condition::type, type);
}

TEST(SetCondition, NewConditionGetsTransitionTimeNowAndAllFields) {
  Conditions conditions;
  EXPECT_TRUE(
      SetCondition(conditions, Ready(ConditionStatus::kFalse, "Creating", "defining domain", 4), kT0));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0],
            (Condition{"Ready", ConditionStatus::kFalse, 4, kT0Text, "Creating", "defining domain"}));
}

TEST(SetCondition, TransitionTimeStaysWhenStatusIsUnchanged) {
  Conditions conditions;
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  SetCondition(conditions, Ready(ConditionStatus::kTrue, "StillFine", "different message", 2), kT1);
  EXPECT_EQ(conditions[0].last_transition_time, kT0Text);
}

TEST(SetCondition, TransitionTimeChangesWhenStatusChanges) {
  Conditions conditions;
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  EXPECT_TRUE(SetCondition(conditions, Ready(ConditionStatus::kFalse, "Failed", "boom"), kT1));
  EXPECT_EQ(conditions[0].last_transition_time, kT1Text);
  EXPECT_EQ(conditions[0].status, ConditionStatus::kFalse);
}

TEST(SetCondition, ReasonMessageAndObservedGenerationAreUpdatedWithoutATransition) {
  Conditions conditions;
  SetCondition(conditions, Ready(ConditionStatus::kFalse, "Creating", "step 1", 1), kT0);
  EXPECT_TRUE(SetCondition(conditions, Ready(ConditionStatus::kFalse, "Defining", "step 2", 2), kT1));
  EXPECT_EQ(conditions[0], (Condition{"Ready", ConditionStatus::kFalse, 2, kT0Text, "Defining", "step 2"}));
}

TEST(SetCondition, IdenticalUpdateReportsNoChangeSoNoStatusWriteHappens) {
  Conditions conditions;
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  const Conditions before = conditions;
  EXPECT_FALSE(SetCondition(conditions, Ready(ConditionStatus::kTrue), kT1));
  EXPECT_EQ(conditions, before);
}

TEST(SetCondition, ListIsSortedByTypeWhateverTheInsertionOrder) {
  Conditions a;
  Conditions b;
  for (const char* type : {"Stalled", "Ready", "Reconciling", "DeletionBlocked"}) {
    SetCondition(a, {type, ConditionStatus::kTrue, "R", "", 1}, kT0);
  }
  for (const char* type : {"DeletionBlocked", "Reconciling", "Stalled", "Ready"}) {
    SetCondition(b, {type, ConditionStatus::kTrue, "R", "", 1}, kT0);
  }
  EXPECT_THAT(a, ElementsAre(HasType("DeletionBlocked"), HasType("Ready"), HasType("Reconciling"),
                             HasType("Stalled")));
  EXPECT_EQ(a, b);
}

TEST(SetCondition, UnsortedListFromTheServerIsSortedAndReportedAsAChange) {
  Conditions conditions{{"Stalled", ConditionStatus::kTrue, 1, kT0Text, "Bad", ""},
                        {"Ready", ConditionStatus::kFalse, 1, kT0Text, "Bad", ""}};
  EXPECT_TRUE(SetCondition(conditions, {"Stalled", ConditionStatus::kTrue, "Bad", "", 1}, kT1));
  EXPECT_THAT(conditions, ElementsAre(HasType("Ready"), HasType("Stalled")));
  EXPECT_EQ(conditions[1].last_transition_time, kT0Text);
}

TEST(SetCondition, AbsentOptionalListIsCreated) {
  std::optional<Conditions> conditions;
  EXPECT_TRUE(SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0));
  ASSERT_TRUE(conditions.has_value());
  EXPECT_EQ(conditions->size(), 1u);
}

TEST(SetCondition, MessageIsBoundedToTheSchemaLimitAtAUtf8Boundary) {
  Conditions conditions;
  // "é" is two bytes; 16384 of them exactly fill the limit, one more crosses it mid-sequence.
  std::string message;
  for (std::size_t i = 0; i < kMaxConditionMessageBytes / 2; ++i) {
    message += "\xC3\xA9";
  }
  SetCondition(conditions, Ready(ConditionStatus::kFalse, "Failed", message), kT0);
  EXPECT_EQ(conditions[0].message, message);
  SetCondition(conditions, Ready(ConditionStatus::kFalse, "Failed", "x" + message), kT0);
  EXPECT_EQ(conditions[0].message.size(), kMaxConditionMessageBytes - 1);
  EXPECT_EQ(conditions[0].message, ("x" + message).substr(0, kMaxConditionMessageBytes - 1));
  // Setting the same long message again is not a change.
  EXPECT_FALSE(SetCondition(conditions, Ready(ConditionStatus::kFalse, "Failed", "x" + message), kT1));
}

TEST(FindCondition, FindsByTypeOrReturnsNull) {
  std::optional<Conditions> conditions;
  EXPECT_EQ(FindCondition(conditions, "Ready"), nullptr);
  EXPECT_FALSE(IsConditionTrue(conditions, "Ready"));
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  ASSERT_NE(FindCondition(conditions, "Ready"), nullptr);
  EXPECT_EQ(FindCondition(conditions, "Ready")->reason, "Reconciled");
  EXPECT_EQ(FindCondition(conditions, "Stalled"), nullptr);
  EXPECT_TRUE(IsConditionTrue(conditions, "Ready"));
  SetCondition(conditions, Ready(ConditionStatus::kUnknown), kT0);
  EXPECT_FALSE(IsConditionTrue(conditions, "Ready"));
}

TEST(RemoveCondition, RemovesOnlyThatTypeAndReportsWhetherItWasThere) {
  std::optional<Conditions> conditions;
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  SetCondition(conditions, {"Stalled", ConditionStatus::kTrue, "Bad", "", 1}, kT0);
  EXPECT_TRUE(RemoveCondition(conditions, "Stalled"));
  EXPECT_FALSE(RemoveCondition(conditions, "Stalled"));
  EXPECT_THAT(*conditions, ElementsAre(HasType("Ready")));
}

TEST(RemoveCondition, EmptiedOptionalListBecomesAbsent) {
  std::optional<Conditions> conditions;
  SetCondition(conditions, Ready(ConditionStatus::kTrue), kT0);
  EXPECT_TRUE(RemoveCondition(conditions, "Ready"));
  EXPECT_FALSE(conditions.has_value());
}

TEST(IsValidConditionReason, FollowsTheMetav1Pattern) {
  for (const char* reason : {"Ready", "A", "Foreign_Domain", "Refused:External,Chain", "x1"}) {
    EXPECT_TRUE(IsValidConditionReason(reason)) << reason;
  }
  for (const char* reason : {"", "1Bad", "Has Space", "Trailing:", "Trailing,", "dash-ed", "_x"}) {
    EXPECT_FALSE(IsValidConditionReason(reason)) << reason;
  }
  EXPECT_FALSE(IsValidConditionReason(std::string(1025, 'a')));
}

TEST(ApplyReconcileOutcome, ReadySetsReadyTrueAndRemovesReconcilingAndStalled) {
  std::optional<Conditions> conditions;
  ApplyReconcileOutcome(conditions, {ReconcileState::kStalled, "ForeignDomain", "exists"}, 1, kT0);
  EXPECT_TRUE(ApplyReconcileOutcome(conditions, {ReconcileState::kReady, "Reconciled", "running"}, 2, kT1));
  EXPECT_THAT(*conditions,
              ElementsAre(Condition{"Ready", ConditionStatus::kTrue, 2, kT1Text, "Reconciled", "running"}));
}

TEST(ApplyReconcileOutcome, InProgressSetsReadyFalseAndReconcilingTrue) {
  std::optional<Conditions> conditions;
  ApplyReconcileOutcome(conditions, {ReconcileState::kInProgress, "Creating", "taking snapshot"}, 3, kT0);
  EXPECT_THAT(
      *conditions,
      ElementsAre(
          Condition{"Ready", ConditionStatus::kFalse, 3, kT0Text, "Creating", "taking snapshot"},
          Condition{"Reconciling", ConditionStatus::kTrue, 3, kT0Text, "Creating", "taking snapshot"}));
}

TEST(ApplyReconcileOutcome, StalledSetsReadyFalseAndStalledTrueWithoutReconciling) {
  std::optional<Conditions> conditions;
  ApplyReconcileOutcome(conditions, {ReconcileState::kInProgress, "Creating", ""}, 1, kT0);
  ApplyReconcileOutcome(conditions, {ReconcileState::kStalled, "PathOutsideStorageRoots", "/etc/x"}, 1, kT1);
  EXPECT_THAT(*conditions, ElementsAre(HasType("Ready"), HasType("Stalled")));
  // Ready was already False: its transition time stays, only reason and message move on.
  EXPECT_EQ(FindCondition(conditions, "Ready")->last_transition_time, kT0Text);
  EXPECT_EQ(FindCondition(conditions, "Ready")->reason, "PathOutsideStorageRoots");
  EXPECT_EQ(FindCondition(conditions, "Stalled")->last_transition_time, kT1Text);
}

TEST(ApplyReconcileOutcome, RepeatingTheSameOutcomeChangesNothing) {
  for (ReconcileState state :
       {ReconcileState::kReady, ReconcileState::kInProgress, ReconcileState::kStalled}) {
    std::optional<Conditions> conditions;
    EXPECT_TRUE(ApplyReconcileOutcome(conditions, {state, "Why", "what"}, 5, kT0));
    const std::optional<Conditions> before = conditions;
    EXPECT_FALSE(ApplyReconcileOutcome(conditions, {state, "Why", "what"}, 5, kT1));
    EXPECT_EQ(conditions, before);
  }
}

TEST(ApplyReconcileOutcome, KeepsOtherConditionsSuchAsDeletionBlocked) {
  std::optional<Conditions> conditions;
  SetCondition(conditions,
               {"DeletionBlocked", ConditionStatus::kTrue, "HasTwoChildren", "delete a branch", 1}, kT0);
  ApplyReconcileOutcome(conditions, {ReconcileState::kReady, "Ready", ""}, 1, kT0);
  EXPECT_THAT(*conditions, ElementsAre(HasType("DeletionBlocked"), HasType("Ready")));
}

TEST(ApplyReconcileOutcome, EncodesDeterministicallyInAStatus) {
  crds::DomainStatus first;
  crds::DomainStatus second;
  ApplyReconcileOutcome(first.conditions, {ReconcileState::kInProgress, "Defining", ""}, 1, kT0);
  SetCondition(second.conditions, {"Reconciling", ConditionStatus::kTrue, "Defining", "", 1}, kT0);
  SetCondition(second.conditions, {"Ready", ConditionStatus::kFalse, "Defining", "", 1}, kT0);
  EXPECT_EQ(nlohmann::json(first).dump(), nlohmann::json(second).dump());
}

TEST(ComputeKstatusHealth, AgreesWithEveryOutcome) {
  const std::pair<ReconcileState, KstatusHealth> cases[] = {
      {ReconcileState::kReady, KstatusHealth::kCurrent},
      {ReconcileState::kInProgress, KstatusHealth::kInProgress},
      {ReconcileState::kStalled, KstatusHealth::kFailed}};
  for (const auto& [state, health] : cases) {
    std::optional<Conditions> conditions;
    ApplyReconcileOutcome(conditions, {state, "Why", ""}, 7, kT0);
    EXPECT_EQ(ComputeKstatusHealth(conditions, 7, 7), health);
  }
}

TEST(ComputeKstatusHealth, StaleObservedGenerationIsInProgressEvenIfReady) {
  std::optional<Conditions> conditions;
  ApplyReconcileOutcome(conditions, {ReconcileState::kReady, "Reconciled", ""}, 1, kT0);
  EXPECT_EQ(ComputeKstatusHealth(conditions, 2, 1), KstatusHealth::kInProgress);
  EXPECT_EQ(ComputeKstatusHealth(conditions, 2, std::nullopt), KstatusHealth::kCurrent);
}

TEST(ComputeKstatusHealth, ReconcilingWinsOverStalledAndNoConditionsIsInProgress) {
  std::optional<Conditions> conditions;
  EXPECT_EQ(ComputeKstatusHealth(conditions, 1, 1), KstatusHealth::kInProgress);
  SetCondition(conditions, {"Stalled", ConditionStatus::kTrue, "Bad", "", 1}, kT0);
  EXPECT_EQ(ComputeKstatusHealth(conditions, 1, 1), KstatusHealth::kFailed);
  SetCondition(conditions, {"Reconciling", ConditionStatus::kTrue, "Retrying", "", 1}, kT0);
  EXPECT_EQ(ComputeKstatusHealth(conditions, 1, 1), KstatusHealth::kInProgress);
}

}  // namespace
}  // namespace virtsnap::reconcilers
