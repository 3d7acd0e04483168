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

auto ErrorAt(const std::string& path) {
  return Field(&DecodeError::path, path);
}

TEST(ValidateDomainSpec, MaximalSpecIsValid) {
  EXPECT_THAT(validateDomainSpec(testsupport::MaximalDomain().spec), IsEmpty());
}

TEST(ValidateDomainSpec, DiskNeedsExactlyOneOfSourceAndCreate) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[0].source = DiskSource{"/var/lib/libvirt/images/a.qcow2"};  // now both
  (*spec.disks)[1].source.reset();                                          // now neither
  EXPECT_THAT(validateDomainSpec(spec), ElementsAre(ErrorAt("spec.disks[0]"), ErrorAt("spec.disks[1]")));
}

TEST(ValidateDomainSpec, SourcePathMustBeAbsoluteWithoutDotSegments) {
  for (const std::string path :
       {"images/a.qcow2", "/var/lib/../../etc/shadow", "/var/lib/libvirt/images/..", "/var/./a.qcow2", ""}) {
    DomainSpec spec = testsupport::MaximalDomain().spec;
    (*spec.disks)[1].source->path = path;
    EXPECT_THAT(validateDomainSpec(spec), ElementsAre(ErrorAt("spec.disks[1].source.path"))) << path;
  }
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[1].source->path = "/var/lib/libvirt/images/a..b.qcow2";  // dots inside a name are fine
  EXPECT_THAT(validateDomainSpec(spec), IsEmpty());
}

TEST(ValidateDomainSpec, NetworkNeedsExactlyOneOfNetworkAndBridge) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.networks)[0].bridge = "br1";
  (*spec.networks)[1].bridge.reset();
  EXPECT_THAT(validateDomainSpec(spec),
              ElementsAre(ErrorAt("spec.networks[0]"), ErrorAt("spec.networks[1]")));
}

TEST(ValidateDomainSpec, DuplicateDiskNamesAndZeroSizesAreRefused) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[1].name = "vda";
  (*spec.disks)[0].create->size = Quantity::parse("0Gi").value();
  spec.memory = Quantity::parse("0").value();
  EXPECT_THAT(validateDomainSpec(spec),
              ElementsAre(ErrorAt("spec.memory"), ErrorAt("spec.disks[0].create.size"),
                          ErrorAt("spec.disks[1].name")));
}

TEST(ValidateDomainSpecUpdate, NodeNameIsImmutable) {
  const DomainSpec old_spec = testsupport::MaximalDomain().spec;
  DomainSpec new_spec = old_spec;
  new_spec.runState = RunState::Stopped;
  EXPECT_THAT(validateDomainSpecUpdate(old_spec, new_spec), IsEmpty());
  new_spec.nodeName = "worker-2";
  EXPECT_THAT(validateDomainSpecUpdate(old_spec, new_spec), ElementsAre(ErrorAt("spec.nodeName")));
}

TEST(ValidateSnapshotSpec, MemoryOnlyWithExternal) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::Internal, true, std::nullopt, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.memory")));
  spec.location = SnapshotLocation::External;
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
  spec.location.reset();  // absent means Internal
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.memory")));
}

TEST(ValidateSnapshotSpec, QuiesceOnlyWithExternalDiskOnly) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::External, false, true, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
  spec.memory = true;
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec.memory.reset();  // absent memory is not disk-only
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec = SnapshotSpec{"web-01", std::nullopt, std::nullopt, std::nullopt, true, std::nullopt};
  EXPECT_THAT(validateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec.quiesce = false;  // quiesce: false asks for nothing
  EXPECT_THAT(validateSnapshotSpec(spec), IsEmpty());
}

TEST(ValidateSnapshotSpecUpdate, OnlyDescriptionAndDeletionPolicyMayChange) {
  const SnapshotSpec old_spec = testsupport::MaximalSnapshot().spec;
  SnapshotSpec new_spec = old_spec;
  new_spec.description = "changed";
  new_spec.deletionPolicy = SnapshotDeletionPolicy::Retain;
  EXPECT_THAT(validateSnapshotSpecUpdate(old_spec, new_spec), IsEmpty());
  new_spec.domainName = "other";
  new_spec.location = SnapshotLocation::Internal;
  new_spec.memory.reset();
  new_spec.quiesce = false;
  EXPECT_THAT(validateSnapshotSpecUpdate(old_spec, new_spec),
              ElementsAre(ErrorAt("spec.domainName"), ErrorAt("spec.location"), ErrorAt("spec.memory"),
                          ErrorAt("spec.quiesce")));
}

TEST(ValidateSnapshotRevertSpecUpdate, SpecIsImmutable) {
  const SnapshotRevertSpec old_spec{"web-01", "base", std::nullopt};
  EXPECT_THAT(validateSnapshotRevertSpecUpdate(old_spec, old_spec), IsEmpty());
  SnapshotRevertSpec new_spec = old_spec;
  new_spec.force = false;
  EXPECT_THAT(validateSnapshotRevertSpecUpdate(old_spec, new_spec), ElementsAre(ErrorAt("spec")));
}

}  // namespace
}  // namespace virtsnap::crds
