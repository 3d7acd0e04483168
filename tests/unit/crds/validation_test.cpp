// The C++ mirrors of the CRDs' CEL rules, for objects no API server has validated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/maximal_objects.h"

namespace virtsnap::crds {
namespace {

using meta::DecodeError;
using meta::Quantity;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

auto errorAt(const std::string& path) {
  return Field(&DecodeError::path, path);
}

TEST(ValidateDomainSpec, MaximalSpecIsValid) {
  EXPECT_THAT(validateDomainSpec(testsupport::maximalDomain().spec), IsEmpty());
}

TEST(ValidateDomainSpec, DiskNeedsExactlyOneOfSourceAndCreate) {
  DomainSpec spec = testsupport::maximalDomain().spec;
  (*spec.disks)[0].source = DiskSource{"/var/lib/libvirt/images/a.qcow2"};  // now both
  (*spec.disks)[1].source.reset();                                          // now neither
  EXPECT_THAT(validateDomainSpec(spec), ElementsAre(errorAt("spec.disks[0]"), errorAt("spec.disks[1]")));
}

TEST(ValidateDomainSpec, SourcePathMustBeAbsoluteWithoutDotSegments) {
  for (const std::string path :
       {"images/a.qcow2", "/var/lib/../../etc/shadow", "/var/lib/libvirt/images/..", "/var/./a.qcow2", ""}) {
    DomainSpec spec = testsupport::maximalDomain().spec;
    (*spec.disks)[1].source->path = path;
    EXPECT_THAT(validateDomainSpec(spec), ElementsAre(errorAt("spec.disks[1].source.path"))) << path;
  }
  DomainSpec spec = testsupport::maximalDomain().spec;
  (*spec.disks)[1].source->path = "/var/lib/libvirt/images/a..b.qcow2";  // dots inside a name are fine
  EXPECT_THAT(validateDomainSpec(spec), IsEmpty());
}

TEST(ValidateDomainSpec, NetworkNeedsExactlyOneOfNetworkAndBridge) {
  DomainSpec spec = testsupport::maximalDomain().spec;
  (*spec.networks)[0].bridge = "br1";
  (*spec.networks)[1].bridge.reset();
  EXPECT_THAT(validateDomainSpec(spec),
              ElementsAre(errorAt("spec.networks[0]"), errorAt("spec.networks[1]")));
}

TEST(ValidateDomainSpec, DuplicateDiskNamesAndZeroSizesAreRefused) {
  DomainSpec spec = testsupport::maximalDomain().spec;
  (*spec.disks)[1].name = "vda";
  (*spec.disks)[0].create->size = Quantity::parse("0Gi").value();
  spec.memory = Quantity::parse("0").value();
  EXPECT_THAT(validateDomainSpec(spec),
              ElementsAre(errorAt("spec.memory"), errorAt("spec.disks[0].create.size"),
                          errorAt("spec.disks[1].name")));
}

TEST(ValidateDomainSpecUpdate, NodeNameIsImmutable) {
  const DomainSpec oldSpec = testsupport::maximalDomain().spec;
  DomainSpec newSpec = oldSpec;
  newSpec.runState = RunState::Stopped;
  EXPECT_THAT(validateDomainSpecUpdate(oldSpec, newSpec), IsEmpty());
  newSpec.nodeName = "worker-2";
  EXPECT_THAT(validateDomainSpecUpdate(oldSpec, newSpec), ElementsAre(errorAt("spec.nodeName")));
}

TEST(ValidateSnapshotSpec, MemoryOnlyWithExternal) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::Internal, true, std::nullopt, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(errorAt("spec.memory")));
  spec.location = SnapshotLocation::External;
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
  spec.location.reset();  // absent means Internal
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(errorAt("spec.memory")));
}

TEST(ValidateSnapshotSpec, QuiesceOnlyWithExternalDiskOnly) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::External, false, true, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
  spec.memory = true;
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(errorAt("spec.quiesce")));
  spec.memory.reset();  // absent memory is not disk-only
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(errorAt("spec.quiesce")));
  spec = SnapshotSpec{"web-01", std::nullopt, std::nullopt, std::nullopt, true, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(errorAt("spec.quiesce")));
  spec.quiesce = false;  // quiesce: false asks for nothing
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
}

TEST(ValidateSnapshotSpecUpdate, OnlyDescriptionAndDeletionPolicyMayChange) {
  const SnapshotSpec oldSpec = testsupport::maximalSnapshot().spec;
  SnapshotSpec newSpec = oldSpec;
  newSpec.description = "changed";
  newSpec.deletionPolicy = SnapshotDeletionPolicy::Retain;
  EXPECT_THAT(validateSnapshotSpecUpdate(oldSpec, newSpec), IsEmpty());
  newSpec.domainName = "other";
  newSpec.location = SnapshotLocation::Internal;
  newSpec.memory.reset();
  newSpec.quiesce = false;
  EXPECT_THAT(validateSnapshotSpecUpdate(oldSpec, newSpec),
              ElementsAre(errorAt("spec.domainName"), errorAt("spec.location"), errorAt("spec.memory"),
                          errorAt("spec.quiesce")));
}

TEST(ValidateSnapshotRevertSpecUpdate, SpecIsImmutable) {
  const SnapshotRevertSpec oldSpec{"web-01", "base", std::nullopt};
  EXPECT_THAT(validateSnapshotRevertSpecUpdate(oldSpec, oldSpec), IsEmpty());
  SnapshotRevertSpec newSpec = oldSpec;
  newSpec.force = false;
  EXPECT_THAT(validateSnapshotRevertSpecUpdate(oldSpec, newSpec), ElementsAre(errorAt("spec")));
}

}  // namespace
}  // namespace virtsnap::crds
