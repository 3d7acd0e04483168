// Domain, ownership, storage and bulk-redefine operations of LibvirtDriver against libvirt's test
// driver (test:///default, in-process; its state lives as long as the driver's connection).

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

DomainSpec testDomain(const std::string& name) {
  DomainSpec spec;
  spec.name = name;
  spec.type = "test";
  spec.arch = "i686";
  spec.memoryBytes = 64ull << 20;
  spec.disks.push_back(DiskSpec{"vda", "virtio", "/default-pool/" + name + ".qcow2", "qcow2", false});
  return spec;
}

class TestDriverDomains : public ::testing::Test {
 protected:
  void SetUp() override {
    LibvirtDriverOptions options;
    options.uri = "test:///default";
    options.storageRoots = {"/default-pool"};
    options.revertSpacing = std::chrono::milliseconds(0);
    driver_ = std::make_unique<LibvirtDriver>(options);
  }
  DomainInfo define(const std::string& name) {
    auto info = driver_->defineDomain(testDomain(name));
    EXPECT_TRUE(info.has_value()) << info.error().message;
    return info.has_value() ? info.value() : DomainInfo{};
  }
  void snapshot(const std::string& domain, const std::string& name) {
    SnapshotRequest request;
    request.name = name;
    auto made = driver_->createSnapshot(domain, request);
    ASSERT_TRUE(made.has_value()) << made.error().message;
  }

  std::unique_ptr<LibvirtDriver> driver_;
};

TEST_F(TestDriverDomains, CapabilitiesReportTheTestDriverAndWhatItCannotDo) {
  auto caps = driver_->capabilities();
  ASSERT_TRUE(caps.has_value()) << caps.error().message;
  EXPECT_EQ(caps.value().hypervisorType, "TEST");
  EXPECT_GE(caps.value().libraryVersion, 9'000'000u);
  EXPECT_FALSE(caps.value().diskOnlySnapshots);
  EXPECT_FALSE(caps.value().metadataOnlyDelete);
  EXPECT_FALSE(caps.value().externalRevert);
}

TEST_F(TestDriverDomains, GuestOffersAreTheTestDriversReadOnceOnAConnection) {
  auto offers = driver_->guestOffers();
  ASSERT_TRUE(offers.has_value()) << offers.error().message;
  EXPECT_EQ(offers.value(), (GuestOffers{{"i686", {"test"}}}));
  EXPECT_EQ(driver_->guestOffers().value(), offers.value());
  EXPECT_EQ(driver_->guestOfferReads(), 1);
  // (It defines more than it lists: any type and arch whose names libvirt knows, kvm on sparc64 too. The
  // agent checks a spec against the offers itself.)
}

TEST_F(TestDriverDomains, DefineStartSuspendResumeShutdownAndState) {
  DomainInfo info = define("lifecycle");
  EXPECT_EQ(info.state, DomainState::Shutoff);
  EXPECT_TRUE(info.persistent);
  EXPECT_EQ(info.uuid.size(), 36u);
  ASSERT_EQ(driver_->start("lifecycle"), std::nullopt);
  EXPECT_THAT(driver_->state("lifecycle").value(), DomainState::Running);
  ASSERT_EQ(driver_->suspend("lifecycle"), std::nullopt);
  EXPECT_THAT(driver_->state("lifecycle").value(), DomainState::Paused);
  ASSERT_EQ(driver_->resume("lifecycle"), std::nullopt);
  ASSERT_EQ(driver_->shutdown("lifecycle", std::chrono::seconds(2)), std::nullopt);
  EXPECT_THAT(driver_->state("lifecycle").value(), DomainState::Shutoff);
  ASSERT_EQ(driver_->start("lifecycle"), std::nullopt);
  ASSERT_EQ(driver_->destroy("lifecycle"), std::nullopt);
  EXPECT_THAT(driver_->state("lifecycle").value(), DomainState::Shutoff);
}

TEST_F(TestDriverDomains, RedefiningKeepsTheUuidWhenTheSpecCarriesIt) {
  DomainInfo first = define("keeps-uuid");
  DomainSpec spec = testDomain("keeps-uuid");
  spec.uuid = first.uuid;
  spec.vcpus = 2;
  auto again = driver_->defineDomain(spec);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again.value().uuid, first.uuid);
  auto byUuid = driver_->lookupDomainByUuid(first.uuid);
  ASSERT_TRUE(byUuid.has_value());
  EXPECT_EQ(byUuid.value().name, "keeps-uuid");
}

TEST_F(TestDriverDomains, TheDefinitionReadBackEqualsTheSpecDefined) {
  DomainSpec spec = testDomain("read-back");
  spec.vcpus = 2;
  spec.disks.push_back(DiskSpec{"vdb", "virtio", "/default-pool/read-back-data.raw", "raw", true});
  spec.networks.push_back(NetworkSpec{"default", "", "virtio"});
  spec.owner = Ownership{"ns", "read-back", "uid-7"};
  auto info = driver_->defineDomain(spec);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  auto read = driver_->definition("read-back");
  ASSERT_TRUE(read.has_value()) << read.error().message;
  DomainSpec expected = spec;
  expected.uuid = info->uuid;
  expected.owner.reset();
  expected.machine = read->machine;  // libvirt's to fill in
  EXPECT_EQ(read.value(), expected);
  EXPECT_EQ(driver_->definition("no-such-domain").error().kind, DriverErrorKind::NotFound);
}

TEST_F(TestDriverDomains, OwnershipIsWrittenIntoTheDomainAndReadBack) {
  DomainSpec spec = testDomain("owned");
  spec.owner = Ownership{"team-a", "web<1>", "0b5e-uid"};
  auto info = driver_->defineDomain(spec);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_THAT(info.value().owner, Optional(Ownership{"team-a", "web<1>", "0b5e-uid"}));
  ASSERT_EQ(driver_->setOwner("owned", Ownership{"team-b", "db", "uid-2"}), std::nullopt);
  EXPECT_THAT(driver_->lookupDomain("owned").value().owner, Optional(Ownership{"team-b", "db", "uid-2"}));
  ASSERT_EQ(driver_->setOwner("owned", std::nullopt), std::nullopt);
  EXPECT_EQ(driver_->lookupDomain("owned").value().owner, std::nullopt);
}

TEST_F(TestDriverDomains, ARedefinitionKeepsTheRevertMark) {
  DomainSpec spec = testDomain("marked");
  auto info = driver_->defineDomain(spec);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  ASSERT_EQ(driver_->setRevertMark("marked", "uid-1"), std::nullopt);
  spec.uuid = info->uuid;
  spec.vcpus = 2;  // drift corrected while a revert waits for its retry
  ASSERT_TRUE(driver_->defineDomain(spec).has_value());
  EXPECT_EQ(driver_->definition("marked").value().vcpus, 2u);
  EXPECT_THAT(driver_->revertMark("marked").value(), Optional(std::string("uid-1")));
}

TEST_F(TestDriverDomains, AForeignDomainHasNoOwner) {
  auto info = driver_->lookupDomain("test");  // the test driver's own domain
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info.value().owner, std::nullopt);
}

TEST_F(TestDriverDomains, DiskPathsOutsideTheStorageRootsAreRefusedAndNothingIsDefined) {
  for (const std::string path : {"/etc/passwd", "/default-pool/../etc/shadow", "relative.qcow2", ""}) {
    DomainSpec spec = testDomain("escape");
    spec.disks[0].path = path;
    auto info = driver_->defineDomain(spec);
    ASSERT_FALSE(info.has_value()) << path;
    EXPECT_EQ(info.error().kind, DriverErrorKind::Invalid);
    EXPECT_THAT(info.error().message, HasSubstr("refused")) << info.error().message;
  }
  EXPECT_EQ(driver_->lookupDomain("escape").error().kind, DriverErrorKind::NotFound);
}

TEST_F(TestDriverDomains, InvalidSpecsAreRefusedWithAMessage) {
  DomainSpec spec = testDomain("bad");
  spec.vcpus = 0;
  EXPECT_THAT(driver_->defineDomain(spec).error().message, HasSubstr("vcpus"));
  spec = testDomain("bad");
  spec.disks[0].target = "vda'/><evil";
  EXPECT_THAT(driver_->defineDomain(spec).error().message, HasSubstr("device name"));
  spec = testDomain("bad");
  spec.networks.push_back(NetworkSpec{"default", "br0", "virtio"});
  EXPECT_THAT(driver_->defineDomain(spec).error().message, HasSubstr("exactly one"));
}

TEST_F(TestDriverDomains, UndefineRemovesTheDomainWithItsSnapshotMetadata) {
  define("doomed");
  ASSERT_EQ(driver_->start("doomed"), std::nullopt);
  snapshot("doomed", "s1");
  ASSERT_EQ(driver_->destroy("doomed"), std::nullopt);
  ASSERT_EQ(driver_->undefine("doomed", UndefineOptions{}), std::nullopt);
  EXPECT_EQ(driver_->lookupDomain("doomed").error().kind, DriverErrorKind::NotFound);
}

TEST_F(TestDriverDomains, VolumesAreCreatedThroughTheStoragePoolAndDeleted) {
  auto path = driver_->createVolume(VolumeRequest{"default-pool", "disk-a.qcow2", 16ull << 20, "qcow2"});
  ASSERT_TRUE(path.has_value()) << path.error().message;
  EXPECT_EQ(path.value(), "/default-pool/disk-a.qcow2");
  ASSERT_EQ(driver_->deleteVolume(path.value()), std::nullopt);
  EXPECT_TRUE(driver_->deleteVolume(path.value()).has_value());
  EXPECT_EQ(driver_->createVolume(VolumeRequest{"default-pool", "../escape", 1, "qcow2"}).error().kind,
            DriverErrorKind::Invalid);
  EXPECT_EQ(driver_->createVolume(VolumeRequest{"no-such-pool", "x", 1, "qcow2"}).error().kind,
            DriverErrorKind::NotFound);
}

TEST_F(TestDriverDomains, SnapshotXmlIsTheHypervisorsDefinition) {
  define("xml");
  ASSERT_EQ(driver_->start("xml"), std::nullopt);
  snapshot("xml", "s1");
  auto xml = driver_->snapshotXml("xml", "s1");
  ASSERT_TRUE(xml.has_value()) << xml.error().message;
  EXPECT_THAT(xml.value(), HasSubstr("<name>s1</name>"));
  EXPECT_EQ(driver_->snapshotXml("xml", "nope").error().kind, DriverErrorKind::NotFound);
}

// Bulk redefine (docs/design.md, Snapshot tree rules): the recorded definitions bring the tree back, parents
// before children, with the recorded current one.
TEST_F(TestDriverDomains, BulkRedefineBringsTheTreeBackAfterTheMetadataIsGone) {
  DomainInfo info = define("phoenix");
  ASSERT_EQ(driver_->start("phoenix"), std::nullopt);
  snapshot("phoenix", "a");
  snapshot("phoenix", "b");
  ASSERT_EQ(driver_->revertToSnapshot("phoenix", "a", RevertOptions{}), std::nullopt);
  snapshot("phoenix", "c");
  ASSERT_EQ(driver_->revertToSnapshot("phoenix", "b", RevertOptions{}), std::nullopt);
  auto before = driver_->listSnapshots("phoenix");
  ASSERT_TRUE(before.has_value());

  // Lose everything, as a restart of the test driver would, then define the domain with its uuid.
  ASSERT_EQ(driver_->destroy("phoenix"), std::nullopt);
  ASSERT_EQ(driver_->undefine("phoenix", UndefineOptions{}), std::nullopt);
  DomainSpec spec = testDomain("phoenix");
  spec.uuid = info.uuid;
  ASSERT_TRUE(driver_->defineDomain(spec).has_value());
  ASSERT_TRUE(driver_->listSnapshots("phoenix").value().snapshots.empty());

  // Children first on purpose: the driver orders them.
  std::vector<SnapshotDefinition> recorded(before.value().snapshots.rbegin(),
                                           before.value().snapshots.rend());
  ASSERT_EQ(driver_->redefineSnapshots("phoenix", recorded, std::string("b")), std::nullopt);
  auto after = driver_->listSnapshots("phoenix");
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(after.value().current, Optional(std::string("b")));
  ASSERT_EQ(after.value().snapshots.size(), 3u);
  for (const auto& def : after.value().snapshots) {
    EXPECT_EQ(def.parent, def.name == "a" ? std::nullopt : std::optional<std::string>("a")) << def.name;
  }
  ASSERT_EQ(driver_->start("phoenix"), std::nullopt);
  EXPECT_EQ(driver_->revertToSnapshot("phoenix", "c", RevertOptions{}), std::nullopt);
}

// All-or-nothing bulk redefine at the driver: a redefine fails partway (a definition made for
// another uuid); everything redefined in the attempt is removed again and the error names the snapshot.
TEST_F(TestDriverDomains, BulkRedefineFailingPartwayRemovesWhatItRedefined) {
  define("source");
  ASSERT_EQ(driver_->start("source"), std::nullopt);
  snapshot("source", "a");
  snapshot("source", "b");
  snapshot("source", "c");
  auto recorded = driver_->listSnapshots("source").value().snapshots;
  // Only "c" is foreign: its embedded domain names another uuid.
  define("target");
  DomainInfo target = driver_->lookupDomain("target").value();
  std::vector<SnapshotDefinition> mixed;
  for (SnapshotDefinition def : recorded) {
    if (def.name != "c") {
      auto own = driver_->lookupDomain("source").value().uuid;
      for (std::size_t at = def.xml.find(own); at != std::string::npos; at = def.xml.find(own)) {
        def.xml.replace(at, own.size(), target.uuid);
      }
    }
    mixed.push_back(def);
  }
  auto error = driver_->redefineSnapshots("target", mixed, std::string("c"));
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->message, HasSubstr("'c'"));
  EXPECT_THAT(error->message, HasSubstr("rolled back"));
  auto listing = driver_->listSnapshots("target");
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing.value().snapshots.empty());
  EXPECT_EQ(listing.value().current, std::nullopt);
}

TEST_F(TestDriverDomains, BulkRedefineNeverTouchesSnapshotsThatAlreadyExist) {
  define("existing");
  ASSERT_EQ(driver_->start("existing"), std::nullopt);
  snapshot("existing", "a");
  auto recorded = driver_->listSnapshots("existing").value().snapshots;
  auto error = driver_->redefineSnapshots("existing", recorded, std::nullopt);
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->message, HasSubstr("defined twice"));
  EXPECT_EQ(driver_->listSnapshots("existing").value().snapshots.size(), 1u);
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
