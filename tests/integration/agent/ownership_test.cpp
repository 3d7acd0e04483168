// What the agent does with libvirt state it did not make: a foreign domain under a Domain's name is
// Stalled and never touched (unless adoptExisting), snapshots made outside virtsnap are reported or
// adopted as the Domain asks, and a snapshot deleted behind the agent's back becomes Lost.

#include <string>

#include <gtest/gtest.h>

#include "crds/snapshot.h"
#include "reconcilers/conditions.h"
#include "tests/support/eventually.h"
#include "tests/support/in_process_agent.h"

namespace virtsnap {
namespace {

using kube::TypedClient;

class AgentOwnership : public testsupport::InProcessAgentTest {
 protected:
  // Defines a libvirt domain directly, as virsh would: no ownership element.
  void defineForeign(const std::string& name) {
    drivers::DomainSpec spec;
    spec.name = name;
    spec.type = "test";
    spec.arch = "i686";
    spec.memoryBytes = 64ULL << 20;
    auto defined = observer_->defineDomain(spec);
    ASSERT_TRUE(defined.has_value()) << defined.error().message;
    undefineAtEnd_.push_back(name);
  }

  const meta::Condition* condition(const std::string& domainName, const std::string& type) {
    auto got = domain(domainName);
    if (!got || !got->status) {
      return nullptr;
    }
    conditions_ = got->status->conditions;
    return reconcilers::findCondition(conditions_, type);
  }

  // The Domain's conditions, one per line, for failure messages.
  std::string conditionsOf(const std::string& domainName) {
    std::string out;
    if (auto got = domain(domainName); got && got->status && got->status->conditions) {
      for (const meta::Condition& c : *got->status->conditions) {
        out += c.type + "=" + std::string(enumName(c.status)) + " " + c.reason + ": " + c.message + "\n";
      }
    }
    return out;
  }

  std::optional<std::vector<meta::Condition>> conditions_;
};

TEST_F(AgentOwnership, AForeignDomainIsStalledAndUntouchedUntilAdopted) {
  defineForeign("vms.legacy");
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(testDomain("legacy")).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    const meta::Condition* stalled = condition("legacy", "Stalled");
    return stalled && stalled->reason == "ForeignDomain";
  }));
  auto info = observer_->lookupDomain("vms.legacy");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, drivers::DomainState::Shutoff);  // not started
  EXPECT_FALSE(info->owner.has_value());                  // not claimed

  auto legacy = domains.get("vms", "legacy");
  ASSERT_TRUE(legacy.has_value());
  legacy->spec.adoptExisting = true;
  ASSERT_TRUE(domains.update(legacy.value()).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    const meta::Condition* ready = condition("legacy", "Ready");
    return ready && ready->status == meta::ConditionStatus::True;
  }));
  info = observer_->lookupDomain("vms.legacy");
  ASSERT_TRUE(info.has_value());
  ASSERT_TRUE(info->owner.has_value());
  EXPECT_EQ(info->owner->name, "legacy");
  EXPECT_EQ(info->state, drivers::DomainState::Running);  // runState enforced once it is ours
}

TEST_F(AgentOwnership, SnapshotsMadeOutsideAreReportedThenAdopted) {
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(testDomain("web")).has_value());
  undefineAtEnd_.push_back("vms.web");
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("web");
    return got && got->status && got->status->hypervisor;
  }));
  drivers::SnapshotRequest request;
  request.name = "by-virsh";
  ASSERT_TRUE(observer_->createSnapshot("vms.web", request).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("web");
    return got && got->status && got->status->unmanagedSnapshots == std::vector<std::string>{"by-virsh"};
  })) << "the poll did not report the snapshot made outside virtsnap";

  auto web = domains.get("vms", "web");
  ASSERT_TRUE(web.has_value());
  web->spec.unmanagedSnapshots = crds::UnmanagedSnapshotPolicy::Adopt;
  ASSERT_TRUE(domains.update(web.value()).has_value());
  TypedClient<crds::Snapshot> snapshots(server_->client());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto adopted = snapshots.get("vms", "by-virsh");
    return adopted && adopted->status && adopted->status->phase == crds::SnapshotPhase::Ready &&
           adopted->status->current == true;
  }));
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("web");
    return got && got->status && !got->status->unmanagedSnapshots && got->status->snapshotCount == 1;
  }));
  // Adopted, never taken a second time; its status records libvirt's definition (fetched for it:
  // the agent's view keeps only a digest of each snapshot's XML).
  auto listing = observer_->listSnapshots("vms.web");
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->snapshots.size(), 1U);
  EXPECT_EQ(snapshots.get("vms", "by-virsh")->status->definition, listing->snapshots.front().xml);
}

// A Snapshot applied under the name of a snapshot made outside virtsnap takes it over (no second
// libvirt snapshot), and the Domain stops listing it as unmanaged: the Snapshot's arrival is what
// enqueues the Domain then (the agent enqueues it on a Snapshot's arrival only in that case).
TEST_F(AgentOwnership, ASnapshotAppliedForAnUnmanagedOneTakesItOverAndTheListShrinks) {
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(testDomain("api")).has_value());
  undefineAtEnd_.push_back("vms.api");
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("api");
    return got && got->status && got->status->hypervisor;
  }));
  for (const char* name : {"by-virsh", "also-by-virsh"}) {
    drivers::SnapshotRequest request;
    request.name = name;
    ASSERT_TRUE(observer_->createSnapshot("vms.api", request).has_value());
  }
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("api");
    return got && got->status &&
           got->status->unmanagedSnapshots == std::vector<std::string>{"also-by-virsh", "by-virsh"};
  })) << "the poll did not report the snapshots made outside virtsnap";

  TypedClient<crds::Snapshot> snapshots(server_->client());
  crds::Snapshot snapshot;
  snapshot.metadata.name = "by-virsh";
  snapshot.metadata.namespaceName = "vms";
  snapshot.spec.domainName = "api";
  ASSERT_TRUE(snapshots.create(snapshot).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto taken = snapshots.get("vms", "by-virsh");
    return taken && taken->status && taken->status->phase == crds::SnapshotPhase::Ready;
  }));
  ASSERT_TRUE(testsupport::eventually([&] {
    auto got = domain("api");
    return got && got->status && got->status->unmanagedSnapshots == std::vector<std::string>{"also-by-virsh"};
  })) << "the Domain still lists the snapshot a Snapshot now manages";
  auto listing = observer_->listSnapshots("vms.api");
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->snapshots.size(), 2U);  // taken over, not taken again
  for (const auto& definition : listing->snapshots) {
    if (definition.name == "by-virsh") {
      EXPECT_EQ(snapshots.get("vms", "by-virsh")->status->definition, definition.xml);
    }
  }
}

TEST_F(AgentOwnership, ASnapshotDeletedBehindTheAgentsBackIsLostAndNotTakenAgain) {
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(testDomain("db")).has_value());
  undefineAtEnd_.push_back("vms.db");
  TypedClient<crds::Snapshot> snapshots(server_->client());
  for (const char* name : {"one", "two"}) {
    crds::Snapshot snapshot;
    snapshot.metadata.name = name;
    snapshot.metadata.namespaceName = "vms";
    snapshot.spec.domainName = "db";
    ASSERT_TRUE(snapshots.create(snapshot).has_value());
  }
  ASSERT_TRUE(testsupport::eventually([&] {
    auto two = snapshots.get("vms", "two");
    return two && two->status && two->status->phase == crds::SnapshotPhase::Ready;
  }));
  ASSERT_FALSE(observer_->deleteSnapshot("vms.db", "two", drivers::DeleteOptions{}));
  ASSERT_TRUE(testsupport::eventually([&] {
    auto two = snapshots.get("vms", "two");
    return two && two->status && two->status->phase == crds::SnapshotPhase::Lost;
  })) << "the poll did not notice the deletion";
  auto listing = observer_->listSnapshots("vms.db");
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->snapshots.size(), 1U);
  EXPECT_EQ(listing->snapshots[0].name, "one");
  // Deleting the Lost object only releases its finalizer.
  ASSERT_TRUE(snapshots.remove("vms", "two").has_value());
  ASSERT_TRUE(testsupport::eventually([&] { return !snapshots.get("vms", "two").has_value(); }));
}

TEST_F(AgentOwnership, ADefinitionChangedBehindTheAgentsBackIsPutBack) {
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(testDomain("edited")).has_value());
  undefineAtEnd_.push_back("vms.edited");
  ASSERT_TRUE(testsupport::eventually([&] {
    const meta::Condition* ready = condition("edited", "Ready");
    return ready && ready->status == meta::ConditionStatus::True;
  }));
  auto asked = observer_->definition("vms.edited");
  ASSERT_TRUE(asked.has_value()) << asked.error().message;
  auto info = observer_->lookupDomain("vms.edited");
  ASSERT_TRUE(info.has_value());
  // As `virsh edit` would: the whole definition again, the ownership element kept, one field changed.
  drivers::DomainSpec edited = asked.value();
  edited.owner = info->owner;
  edited.vcpus = asked->vcpus + 1;
  edited.memoryBytes = asked->memoryBytes * 2;
  ASSERT_TRUE(observer_->defineDomain(edited).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto now = observer_->definition("vms.edited");
    return now && now->vcpus == asked->vcpus && now->memoryBytes == asked->memoryBytes;
  })) << "the poll did not put the spec back; the Domain's conditions:\n"
      << conditionsOf("edited");
  // The domain ran through it: the restored definition takes effect at its next start.
  ASSERT_TRUE(testsupport::eventually([&] {
    const meta::Condition* restart = condition("edited", "RestartRequired");
    return restart && restart->status == meta::ConditionStatus::True;
  }));
  info = observer_->lookupDomain("vms.edited");
  ASSERT_TRUE(info.has_value());
  ASSERT_TRUE(info->owner.has_value());
  EXPECT_EQ(info->owner->name, "edited");
  EXPECT_EQ(info->uuid, asked->uuid);

  // A spec change redefines the same domain (same uuid) too.
  auto current = domains.get("vms", "edited");
  ASSERT_TRUE(current.has_value());
  current->spec.vcpus = 3;
  ASSERT_TRUE(domains.update(current.value()).has_value());
  ASSERT_TRUE(testsupport::eventually([&] {
    auto now = observer_->definition("vms.edited");
    return now && now->vcpus == 3;
  })) << conditionsOf("edited");
  EXPECT_EQ(observer_->lookupDomain("vms.edited")->uuid, asked->uuid);
}

}  // namespace
}  // namespace virtsnap
