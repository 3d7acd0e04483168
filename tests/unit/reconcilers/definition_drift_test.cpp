// Changes made to a domain's definition outside virtsnap, as the Domain reconciler finds them
// (reconcilers/definition_drift.h).
#include "reconcilers/definition_drift.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::reconcilers {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

drivers::DomainSpec desired() {
  drivers::DomainSpec spec;
  spec.name = "vms.web";
  spec.type = "kvm";
  spec.vcpus = 2;
  spec.memoryBytes = 128ULL << 20;
  spec.machine = "pc";
  spec.disks.push_back(drivers::DiskSpec{"vda", "virtio", "/images/web.qcow2", "qcow2", false});
  spec.networks.push_back(drivers::NetworkSpec{"default", "", "virtio"});
  spec.owner = drivers::Ownership{"vms", "web", "uid-1"};
  return spec;
}

// What libvirt reports for the desired spec: a uuid, no owner (read separately), a versioned machine.
drivers::DomainSpec asDefined(drivers::DomainSpec spec) {
  spec.uuid = "0d6b2d5e-7a8c-4f0e-9c41-2b1d3e4f5a6b";
  spec.owner.reset();
  spec.machine = "pc-i440fx-10.0";
  return spec;
}

TEST(DefinitionDrift, NoneWhenLibvirtHoldsTheSpecWhateverUuidOwnerAndMachine) {
  EXPECT_THAT(definitionDrift(desired(), asDefined(desired()), {}), IsEmpty());
}

TEST(DefinitionDrift, EachChangedFieldIsNamedWithBothValues) {
  drivers::DomainSpec live = asDefined(desired());
  live.vcpus = 1;
  live.memoryBytes = 64ULL << 20;
  live.disks[0].readOnly = true;
  live.disks.push_back(drivers::DiskSpec{"hdc", "ide", "cdrom:/iso/x.iso", "", true});
  live.networks.clear();
  EXPECT_THAT(
      definitionDrift(desired(), live, {}),
      ElementsAre("vcpus: 2 in the spec, 1 defined", "memory: 128 MiB in the spec, 64 MiB defined",
                  "disk vda: /images/web.qcow2 (qcow2, bus virtio) in the spec, /images/web.qcow2 "
                  "(qcow2, bus virtio, read-only) defined",
                  "disk hdc: not in the spec, cdrom:/iso/x.iso (no format, bus ide, read-only) defined",
                  "interface 1: network default (virtio) in the spec, missing"));
}

TEST(DefinitionDrift, AMissingDiskAndAnExtraInterfaceAreNamed) {
  drivers::DomainSpec live = asDefined(desired());
  live.disks.clear();
  live.networks.push_back(drivers::NetworkSpec{"", "br0", "e1000"});
  EXPECT_THAT(definitionDrift(desired(), live, {}),
              ElementsAre("disk vda: /images/web.qcow2 (qcow2, bus virtio) in the spec, missing",
                          "interface 2: not in the spec, bridge br0 (e1000) defined"));
}

TEST(DefinitionDrift, AnOverlaidDiskMayRunOnItsOverlayButNotChangeBus) {
  drivers::DomainSpec live = asDefined(desired());
  live.disks[0].path = "/images/web.snap1";
  EXPECT_THAT(definitionDrift(desired(), live, {"vda"}), IsEmpty());
  EXPECT_THAT(definitionDrift(desired(), live, {}).size(), 1U);  // without the snapshot it is drift
  live.disks[0].bus = "sata";
  EXPECT_THAT(definitionDrift(desired(), live, {"vda"}),
              ElementsAre("disk vda: /images/web.snap1 (qcow2, bus virtio) in the spec, /images/web.snap1 "
                          "(qcow2, bus sata) defined"));
}

TEST(DefinitionDrift, MemoryIsComparedAsRenderedInKibibytes) {
  drivers::DomainSpec want = desired();
  want.memoryBytes = (128ULL << 20) + 1;  // rendered as 131073 KiB
  drivers::DomainSpec live = asDefined(desired());
  live.memoryBytes = 131073ULL * 1024;
  EXPECT_THAT(definitionDrift(want, live, {}), IsEmpty());
}

TEST(KeepOverlays, OverlaidDisksKeepLibvirtsPathAndFormatTheOthersTakeTheSpecs) {
  drivers::DomainSpec want = desired();
  want.disks.push_back(drivers::DiskSpec{"vdb", "virtio", "/images/data.raw", "raw", false});
  drivers::DomainSpec live = asDefined(want);
  live.disks[0].path = "/images/web.snap1";
  live.disks[1].path = "/images/elsewhere.raw";
  const drivers::DomainSpec kept = keepOverlays(want, live, {"vda"});
  EXPECT_EQ(kept.disks[0].path, "/images/web.snap1");
  EXPECT_EQ(kept.disks[1].path, "/images/data.raw");
  EXPECT_EQ(kept.owner, want.owner);
}

TEST(OverlaidDisks, AreTheDisksOfExternalSnapshotsInTheView) {
  DomainView view;
  drivers::SnapshotDefinition internal;
  internal.name = "a";
  internal.disks = {drivers::SnapshotDisk{"vda", "internal", ""}};
  drivers::SnapshotDefinition external;
  external.name = "b";
  external.disks = {drivers::SnapshotDisk{"vda", "no", ""}, drivers::SnapshotDisk{"vdb", "external", "/i/b"}};
  view.definitions.emplace("a", viewed(internal));
  view.definitions.emplace("b", viewed(external));
  EXPECT_THAT(overlaidDisks(view), ElementsAre("vdb"));
}

}  // namespace
}  // namespace virtsnap::reconcilers
