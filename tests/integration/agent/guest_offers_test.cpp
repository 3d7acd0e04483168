// The Domain reconciler against the host's guest offers (libvirt's test driver lists type test on i686
// only, though it would define kvm): a Domain the host does not offer is Stalled InvalidSpec, naming the
// field, before anything is made for it (not its `create:` disk's volume, not the domain); corrected, it
// is defined. The offers are asked through the metered driver like every hypervisor call.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/storage_roots.h"
#include "reconcilers/conditions.h"
#include "reconcilers/domain_translation.h"
#include "tests/support/eventually.h"
#include "tests/support/in_process_agent.h"

namespace virtsnap {
namespace {

using kube::TypedClient;
using ::testing::HasSubstr;

class AgentGuestOffers : public testsupport::InProcessAgentTest {
 protected:
  std::optional<meta::Condition> condition(const std::string& domainName, const std::string& type) {
    auto got = domain(domainName);
    if (!got || !got->status) {
      return std::nullopt;
    }
    const meta::Condition* found = reconcilers::findCondition(got->status->conditions, type);
    return found ? std::optional(*found) : std::nullopt;
  }

  // How many guest_offers calls the agent's metered driver timed with `result`.
  double guestOfferCalls(const std::string& result) {
    double sum = 0;
    for (const auto& family : registry_->Collect()) {
      if (family.name != "virtsnap_hypervisor_operation_duration_seconds") {
        continue;
      }
      for (const auto& metric : family.metric) {
        bool operation = false;
        bool outcome = false;
        for (const auto& label : metric.label) {
          operation = operation || (label.name == "operation" && label.value == "guest_offers");
          outcome = outcome || (label.name == "result" && label.value == result);
        }
        if (operation && outcome) {
          sum += static_cast<double>(metric.histogram.sample_count);
        }
      }
    }
    return sum;
  }
};

TEST_F(AgentGuestOffers, ATypeTheHostDoesNotOfferIsRefusedBeforeItsVolumeOrDomainIsMade) {
  crds::Domain big = testDomain("big");
  big.spec.type = "kvm";
  big.spec.disks = std::vector<crds::Disk>{crds::Disk{
      "vda", std::nullopt, std::nullopt, crds::DiskCreate{meta::Quantity::parse("1Mi").value(), {}}}};
  TypedClient<crds::Domain> domains(server_->client());
  ASSERT_TRUE(domains.create(big).has_value());
  undefineAtEnd_.push_back("vms.big");
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        auto stalled = condition("big", "Stalled");
        return stalled && stalled->status == meta::ConditionStatus::True;
      },
      std::chrono::seconds(20)));
  const auto stalled = condition("big", "Stalled");
  EXPECT_EQ(stalled->reason, "InvalidSpec");
  EXPECT_THAT(stalled->message, HasSubstr("spec.type \"kvm\" is not offered by this host (offered: test)"));
  auto volume = observer_->findVolume("default-pool", "vms.big-vda.qcow2");
  ASSERT_TRUE(volume.has_value()) << volume.error().message;
  EXPECT_EQ(volume.value(), std::nullopt) << "the volume was made";
  auto info = observer_->lookupDomain("vms.big");
  ASSERT_FALSE(info.has_value()) << "the domain was defined";
  EXPECT_EQ(info.error().kind, drivers::DriverErrorKind::NotFound);
  EXPECT_GE(guestOfferCalls("success"), 1);
  EXPECT_EQ(guestOfferCalls("error"), 0);

  // Corrected, it is made.
  auto stored = domains.get("vms", "big");
  ASSERT_TRUE(stored.has_value());
  stored->spec.type = "test";
  ASSERT_TRUE(domains.update(stored.value()).has_value());
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        auto ready = condition("big", "Ready");
        return ready && ready->status == meta::ConditionStatus::True;
      },
      std::chrono::seconds(20)));
  volume = observer_->findVolume("default-pool", "vms.big-vda.qcow2");
  ASSERT_TRUE(volume.has_value());
  EXPECT_NE(volume.value(), std::nullopt);
  EXPECT_TRUE(observer_->lookupDomain("vms.big").has_value());
}

// A domain libvirt already holds as its spec says is not judged against the offers again: they can
// shrink for a while (libvirtd restarted before /dev/kvm is back) and must not stop a domain that runs.
// Here the test driver holds a kvm domain (it defines any type it knows, though it offers only test),
// defined from the Domain's own translation, and the Domain adopts it: Ready, not Stalled, not redefined.
TEST_F(AgentGuestOffers, ADomainLibvirtAlreadyHoldsIsNotStoppedByTheOffers) {
  crds::Domain held = testDomain("held");
  held.spec.type = "kvm";
  held.spec.adoptExisting = true;
  auto spec = reconcilers::translateDomain(held, drivers::StorageRoots({"/default-pool"}), {});
  ASSERT_TRUE(spec.has_value()) << spec.error();
  spec->owner = std::nullopt;  // libvirt's own, for the Domain to adopt
  auto defined = observer_->defineDomain(spec.value());
  ASSERT_TRUE(defined.has_value()) << defined.error().message;
  undefineAtEnd_.push_back("vms.held");

  TypedClient<crds::Domain> domains(server_->client());
  auto created = domains.create(held);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        auto ready = condition("held", "Ready");
        return ready && ready->status == meta::ConditionStatus::True;
      },
      std::chrono::seconds(20)))
      << (condition("held", "Stalled") ? condition("held", "Stalled")->message : std::string("no Stalled"));
  auto info = observer_->lookupDomain("vms.held");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->uuid, defined->uuid) << "the domain was defined again";
  ASSERT_TRUE(info->owner.has_value()) << "not adopted";
}

}  // namespace
}  // namespace virtsnap
