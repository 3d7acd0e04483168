// The C++ mirrors of the CRDs' CEL rules, for objects no API server has validated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/maximal_objects.h"

namespace virtsnap::crds {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

auto ErrorAt(const std::string& path) {
  return Field(&DecodeError::path, path);
}

TEST(ValidateDomainSpec, MaximalSpecIsValid) {
  EXPECT_THAT(ValidateDomainSpec(testsupport::MaximalDomain().spec), IsEmpty());
}

TEST(ValidateDomainSpec, DiskNeedsExactlyOneOfSourceAndCreate) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[0].source = DiskSource{"/var/lib/libvirt/images/a.qcow2"};  // now both
  (*spec.disks)[1].source.reset();                                          // now neither
  EXPECT_THAT(ValidateDomainSpec(spec), ElementsAre(ErrorAt("spec.disks[0]"), ErrorAt("spec.disks[1]")));
}

TEST(ValidateDomainSpec, SourcePathMustBeAbsoluteWithoutDotSegments) {
  for (const std::string path :
       {"images/a.qcow2", "/var/lib/../../etc/shadow", "/var/lib/libvirt/images/..", "/var/./a.qcow2", ""}) {
    DomainSpec spec = testsupport::MaximalDomain().spec;
    (*spec.disks)[1].source->path = path;
    EXPECT_THAT(ValidateDomainSpec(spec), ElementsAre(ErrorAt("spec.disks[1].source.path"))) << path;
  }
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[1].source->path = "/var/lib/libvirt/images/a..b.qcow2";  // dots inside a name are fine
  EXPECT_THAT(ValidateDomainSpec(spec), IsEmpty());
}

TEST(ValidateDomainSpec, NetworkNeedsExactlyOneOfNetworkAndBridge) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.networks)[0].bridge = "br1";
  (*spec.networks)[1].bridge.reset();
  EXPECT_THAT(ValidateDomainSpec(spec),
              ElementsAre(ErrorAt("spec.networks[0]"), ErrorAt("spec.networks[1]")));
}

TEST(ValidateDomainSpec, DuplicateDiskNamesAndZeroSizesAreRefused) {
  DomainSpec spec = testsupport::MaximalDomain().spec;
  (*spec.disks)[1].name = "vda";
  (*spec.disks)[0].create->size = Quantity::Parse("0Gi").value();
  spec.memory = Quantity::Parse("0").value();
  EXPECT_THAT(ValidateDomainSpec(spec),
              ElementsAre(ErrorAt("spec.memory"), ErrorAt("spec.disks[0].create.size"),
                          ErrorAt("spec.disks[1].name")));
}

TEST(ValidateDomainSpecUpdate, NodeNameIsImmutable) {
  const DomainSpec old_spec = testsupport::MaximalDomain().spec;
  DomainSpec new_spec = old_spec;
  new_spec.run_state = RunState::kStopped;
  EXPECT_THAT(ValidateDomainSpecUpdate(old_spec, new_spec), IsEmpty());
  new_spec.node_name = "worker-2";
  EXPECT_THAT(ValidateDomainSpecUpdate(old_spec, new_spec), ElementsAre(ErrorAt("spec.nodeName")));
}

TEST(ValidateSnapshotSpec, MemoryOnlyWithExternal) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::kInternal, true, std::nullopt, std::nullopt};
  EXPECT_THAT(ValidateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.memory")));
  spec.location = SnapshotLocation::kExternal;
  EXPECT_THAT(ValidateSnapshotSpec(spec), IsEmpty());
  spec.location.reset();  // absent means Internal
  EXPECT_THAT(ValidateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.memory")));
}

TEST(ValidateSnapshotSpec, QuiesceOnlyWithExternalDiskOnly) {
  SnapshotSpec spec{"web-01", std::nullopt, SnapshotLocation::kExternal, false, true, std::nullopt};
  EXPECT_THAT(ValidateSnapshotSpec(spec), IsEmpty());
  spec.memory = true;
  EXPECT_THAT(ValidateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec.memory.reset();  // absent memory is not disk-only
  EXPECT_THAT(ValidateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec = SnapshotSpec{"web-01", std::nullopt, std::nullopt, std::nullopt, true, std::nullopt};
  EXPECT_THAT(ValidateSnapshotSpec(spec), ElementsAre(ErrorAt("spec.quiesce")));
  spec.quiesce = false;  // quiesce: false asks for nothing
  EXPECT_THAT(ValidateSnapshotSpec(spec), IsEmpty());
}

TEST(ValidateSnapshotSpecUpdate, OnlyDescriptionAndDeletionPolicyMayChange) {
  const SnapshotSpec old_spec = testsupport::MaximalSnapshot().spec;
  SnapshotSpec new_spec = old_spec;
  new_spec.description = "changed";
  new_spec.deletion_policy = SnapshotDeletionPolicy::kRetain;
  EXPECT_THAT(ValidateSnapshotSpecUpdate(old_spec, new_spec), IsEmpty());
  new_spec.domain_name = "other";
  new_spec.location = SnapshotLocation::kInternal;
  new_spec.memory.reset();
  new_spec.quiesce = false;
  EXPECT_THAT(ValidateSnapshotSpecUpdate(old_spec, new_spec),
              ElementsAre(ErrorAt("spec.domainName"), ErrorAt("spec.location"), ErrorAt("spec.memory"),
                          ErrorAt("spec.quiesce")));
}

TEST(ValidateSnapshotRevertSpecUpdate, SpecIsImmutable) {
  const SnapshotRevertSpec old_spec{"web-01", "base", std::nullopt};
  EXPECT_THAT(ValidateSnapshotRevertSpecUpdate(old_spec, old_spec), IsEmpty());
  SnapshotRevertSpec new_spec = old_spec;
  new_spec.force = false;
  EXPECT_THAT(ValidateSnapshotRevertSpecUpdate(old_spec, new_spec), ElementsAre(ErrorAt("spec")));
}

}  // namespace
}  // namespace virtsnap::crds
