// One test per rule of reconcilers/conditions.h.
#include "reconcilers/conditions.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"

namespace virtsnap::reconcilers {
namespace {

using meta::Condition;
using meta::ConditionStatus;
using ::testing::ElementsAre;
using ::testing::Field;

const Clock::time_point kT0 = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours{12};
const Clock::time_point kT1 = kT0 + std::chrono::minutes{5};
constexpr const char* kT0Text = "2024-05-01T12:00:00Z";
constexpr const char* kT1Text = "2024-05-01T12:05:00Z";

ConditionUpdate ready(ConditionStatus status, std::string reason = "Reconciled", std::string message = "ok",
                      std::int64_t generation = 1) {
  return {"Ready", status, std::move(reason), std::move(message), generation};
}

auto hasType(const std::string& type) {
  return Field(&Condition::type, type);
}

TEST(SetCondition, NewConditionGetsTransitionTimeNowAndAllFields) {
  Conditions conditions;
  EXPECT_TRUE(setCondition(conditions, ready(ConditionStatus::False, "Creating", "defining domain", 4), kT0));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0],
            (Condition{"Ready", ConditionStatus::False, 4, kT0Text, "Creating", "defining domain"}));
}

TEST(SetCondition, TransitionTimeStaysWhenStatusIsUnchanged) {
  Conditions conditions;
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  setCondition(conditions, ready(ConditionStatus::True, "StillFine", "different message", 2), kT1);
  EXPECT_EQ(conditions[0].lastTransitionTime, kT0Text);
}

TEST(SetCondition, TransitionTimeChangesWhenStatusChanges) {
  Conditions conditions;
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  EXPECT_TRUE(setCondition(conditions, ready(ConditionStatus::False, "Failed", "boom"), kT1));
  EXPECT_EQ(conditions[0].lastTransitionTime, kT1Text);
  EXPECT_EQ(conditions[0].status, ConditionStatus::False);
}

TEST(SetCondition, ReasonMessageAndObservedGenerationAreUpdatedWithoutATransition) {
  Conditions conditions;
  setCondition(conditions, ready(ConditionStatus::False, "Creating", "step 1", 1), kT0);
  EXPECT_TRUE(setCondition(conditions, ready(ConditionStatus::False, "Defining", "step 2", 2), kT1));
  EXPECT_EQ(conditions[0], (Condition{"Ready", ConditionStatus::False, 2, kT0Text, "Defining", "step 2"}));
}

TEST(SetCondition, IdenticalUpdateReportsNoChangeSoNoStatusWriteHappens) {
  Conditions conditions;
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  const Conditions before = conditions;
  EXPECT_FALSE(setCondition(conditions, ready(ConditionStatus::True), kT1));
  EXPECT_EQ(conditions, before);
}

TEST(SetCondition, ListIsSortedByTypeWhateverTheInsertionOrder) {
  Conditions a;
  Conditions b;
  for (const char* type : {"Stalled", "Ready", "Reconciling", "DeletionBlocked"}) {
    setCondition(a, {type, ConditionStatus::True, "R", "", 1}, kT0);
  }
  for (const char* type : {"DeletionBlocked", "Reconciling", "Stalled", "Ready"}) {
    setCondition(b, {type, ConditionStatus::True, "R", "", 1}, kT0);
  }
  EXPECT_THAT(a, ElementsAre(hasType("DeletionBlocked"), hasType("Ready"), hasType("Reconciling"),
                             hasType("Stalled")));
  EXPECT_EQ(a, b);
}

TEST(SetCondition, UnsortedListFromTheServerIsSortedAndReportedAsAChange) {
  Conditions conditions{{"Stalled", ConditionStatus::True, 1, kT0Text, "Bad", ""},
                        {"Ready", ConditionStatus::False, 1, kT0Text, "Bad", ""}};
  EXPECT_TRUE(setCondition(conditions, {"Stalled", ConditionStatus::True, "Bad", "", 1}, kT1));
  EXPECT_THAT(conditions, ElementsAre(hasType("Ready"), hasType("Stalled")));
  EXPECT_EQ(conditions[1].lastTransitionTime, kT0Text);
}

TEST(SetCondition, AbsentOptionalListIsCreated) {
  std::optional<Conditions> conditions;
  EXPECT_TRUE(setCondition(conditions, ready(ConditionStatus::True), kT0));
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
  setCondition(conditions, ready(ConditionStatus::False, "Failed", message), kT0);
  EXPECT_EQ(conditions[0].message, message);
  setCondition(conditions, ready(ConditionStatus::False, "Failed", "x" + message), kT0);
  EXPECT_EQ(conditions[0].message.size(), kMaxConditionMessageBytes - 1);
  EXPECT_EQ(conditions[0].message, ("x" + message).substr(0, kMaxConditionMessageBytes - 1));
  // Setting the same long message again is not a change.
  EXPECT_FALSE(setCondition(conditions, ready(ConditionStatus::False, "Failed", "x" + message), kT1));
}

TEST(FindCondition, FindsByTypeOrReturnsNull) {
  std::optional<Conditions> conditions;
  EXPECT_EQ(findCondition(conditions, "Ready"), nullptr);
  EXPECT_FALSE(isConditionTrue(conditions, "Ready"));
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  ASSERT_NE(findCondition(conditions, "Ready"), nullptr);
  EXPECT_EQ(findCondition(conditions, "Ready")->reason, "Reconciled");
  EXPECT_EQ(findCondition(conditions, "Stalled"), nullptr);
  EXPECT_TRUE(isConditionTrue(conditions, "Ready"));
  setCondition(conditions, ready(ConditionStatus::Unknown), kT0);
  EXPECT_FALSE(isConditionTrue(conditions, "Ready"));
}

TEST(RemoveCondition, RemovesOnlyThatTypeAndReportsWhetherItWasThere) {
  std::optional<Conditions> conditions;
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  setCondition(conditions, {"Stalled", ConditionStatus::True, "Bad", "", 1}, kT0);
  EXPECT_TRUE(removeCondition(conditions, "Stalled"));
  EXPECT_FALSE(removeCondition(conditions, "Stalled"));
  EXPECT_THAT(*conditions, ElementsAre(hasType("Ready")));
}

TEST(RemoveCondition, EmptiedOptionalListBecomesAbsent) {
  std::optional<Conditions> conditions;
  setCondition(conditions, ready(ConditionStatus::True), kT0);
  EXPECT_TRUE(removeCondition(conditions, "Ready"));
  EXPECT_FALSE(conditions.has_value());
}

TEST(IsValidConditionReason, FollowsTheMetav1Pattern) {
  for (const char* reason : {"Ready", "A", "Foreign_Domain", "Refused:External,Chain", "x1"}) {
    EXPECT_TRUE(isValidConditionReason(reason)) << reason;
  }
  for (const char* reason : {"", "1Bad", "Has Space", "Trailing:", "Trailing,", "dash-ed", "_x"}) {
    EXPECT_FALSE(isValidConditionReason(reason)) << reason;
  }
  EXPECT_FALSE(isValidConditionReason(std::string(1025, 'a')));
}

TEST(ApplyReconcileOutcome, ReadySetsReadyTrueAndRemovesReconcilingAndStalled) {
  std::optional<Conditions> conditions;
  applyReconcileOutcome(conditions, {ReconcileState::Stalled, "ForeignDomain", "exists"}, 1, kT0);
  EXPECT_TRUE(applyReconcileOutcome(conditions, {ReconcileState::Ready, "Reconciled", "running"}, 2, kT1));
  EXPECT_THAT(*conditions,
              ElementsAre(Condition{"Ready", ConditionStatus::True, 2, kT1Text, "Reconciled", "running"}));
}

TEST(ApplyReconcileOutcome, InProgressSetsReadyFalseAndReconcilingTrue) {
  std::optional<Conditions> conditions;
  applyReconcileOutcome(conditions, {ReconcileState::InProgress, "Creating", "taking snapshot"}, 3, kT0);
  EXPECT_THAT(
      *conditions,
      ElementsAre(
          Condition{"Ready", ConditionStatus::False, 3, kT0Text, "Creating", "taking snapshot"},
          Condition{"Reconciling", ConditionStatus::True, 3, kT0Text, "Creating", "taking snapshot"}));
}

TEST(ApplyReconcileOutcome, StalledSetsReadyFalseAndStalledTrueWithoutReconciling) {
  std::optional<Conditions> conditions;
  applyReconcileOutcome(conditions, {ReconcileState::InProgress, "Creating", ""}, 1, kT0);
  applyReconcileOutcome(conditions, {ReconcileState::Stalled, "PathOutsideStorageRoots", "/etc/x"}, 1, kT1);
  EXPECT_THAT(*conditions, ElementsAre(hasType("Ready"), hasType("Stalled")));
  // Ready was already False: its transition time stays, only reason and message move on.
  EXPECT_EQ(findCondition(conditions, "Ready")->lastTransitionTime, kT0Text);
  EXPECT_EQ(findCondition(conditions, "Ready")->reason, "PathOutsideStorageRoots");
  EXPECT_EQ(findCondition(conditions, "Stalled")->lastTransitionTime, kT1Text);
}

TEST(ApplyReconcileOutcome, RepeatingTheSameOutcomeChangesNothing) {
  for (ReconcileState state : {ReconcileState::Ready, ReconcileState::InProgress, ReconcileState::Stalled}) {
    std::optional<Conditions> conditions;
    EXPECT_TRUE(applyReconcileOutcome(conditions, {state, "Why", "what"}, 5, kT0));
    const std::optional<Conditions> before = conditions;
    EXPECT_FALSE(applyReconcileOutcome(conditions, {state, "Why", "what"}, 5, kT1));
    EXPECT_EQ(conditions, before);
  }
}

TEST(ApplyReconcileOutcome, KeepsOtherConditionsSuchAsDeletionBlocked) {
  std::optional<Conditions> conditions;
  setCondition(conditions, {"DeletionBlocked", ConditionStatus::True, "HasTwoChildren", "delete a branch", 1},
               kT0);
  applyReconcileOutcome(conditions, {ReconcileState::Ready, "Ready", ""}, 1, kT0);
  EXPECT_THAT(*conditions, ElementsAre(hasType("DeletionBlocked"), hasType("Ready")));
}

TEST(ApplyReconcileOutcome, EncodesDeterministicallyInAStatus) {
  crds::DomainStatus first;
  crds::DomainStatus second;
  applyReconcileOutcome(first.conditions, {ReconcileState::InProgress, "Defining", ""}, 1, kT0);
  setCondition(second.conditions, {"Reconciling", ConditionStatus::True, "Defining", "", 1}, kT0);
  setCondition(second.conditions, {"Ready", ConditionStatus::False, "Defining", "", 1}, kT0);
  EXPECT_EQ(nlohmann::json(first).dump(), nlohmann::json(second).dump());
}

TEST(ComputeKstatusHealth, AgreesWithEveryOutcome) {
  const std::pair<ReconcileState, KstatusHealth> cases[] = {
      {ReconcileState::Ready, KstatusHealth::Current},
      {ReconcileState::InProgress, KstatusHealth::InProgress},
      {ReconcileState::Stalled, KstatusHealth::Failed}};
  for (const auto& [state, health] : cases) {
    std::optional<Conditions> conditions;
    applyReconcileOutcome(conditions, {state, "Why", ""}, 7, kT0);
    EXPECT_EQ(computeKstatusHealth(conditions, 7, 7), health);
  }
}

TEST(ComputeKstatusHealth, StaleObservedGenerationIsInProgressEvenIfReady) {
  std::optional<Conditions> conditions;
  applyReconcileOutcome(conditions, {ReconcileState::Ready, "Reconciled", ""}, 1, kT0);
  EXPECT_EQ(computeKstatusHealth(conditions, 2, 1), KstatusHealth::InProgress);
  EXPECT_EQ(computeKstatusHealth(conditions, 2, std::nullopt), KstatusHealth::Current);
}

TEST(ComputeKstatusHealth, ReconcilingWinsOverStalledAndNoConditionsIsInProgress) {
  std::optional<Conditions> conditions;
  EXPECT_EQ(computeKstatusHealth(conditions, 1, 1), KstatusHealth::InProgress);
  setCondition(conditions, {"Stalled", ConditionStatus::True, "Bad", "", 1}, kT0);
  EXPECT_EQ(computeKstatusHealth(conditions, 1, 1), KstatusHealth::Failed);
  setCondition(conditions, {"Reconciling", ConditionStatus::True, "Retrying", "", 1}, kT0);
  EXPECT_EQ(computeKstatusHealth(conditions, 1, 1), KstatusHealth::InProgress);
}

}  // namespace
}  // namespace virtsnap::reconcilers
