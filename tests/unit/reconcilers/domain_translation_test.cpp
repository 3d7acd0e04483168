// A Domain resource in the hypervisor layer's terms (reconcilers/domain_translation.h).
#include "reconcilers/domain_translation.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::reconcilers {
namespace {

using ::testing::HasSubstr;

crds::Domain domain() {
  crds::Domain out;
  out.metadata.name = "web";
  out.metadata.namespaceName = "vms";
  out.metadata.uid = "1234";
  out.spec.nodeName = "n1";
  out.spec.type = "test";
  out.spec.vcpus = 2;
  out.spec.memory = meta::Quantity::parse("128Mi").value();
  return out;
}

class DomainTranslation : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("virtsnap-translation-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(DomainTranslation, TheHypervisorNameIsNamespaceDotNameUnlessGiven) {
  crds::Domain web = domain();
  EXPECT_EQ(hypervisorName(web), "vms.web");
  web.spec.hypervisorName = "legacy-web";
  EXPECT_EQ(hypervisorName(web), "legacy-web");
}

TEST_F(DomainTranslation, TheSpecBecomesADefinitionWithTheOwner) {
  crds::Domain web = domain();
  web.spec.disks = std::vector<crds::Disk>{
      crds::Disk{"vda", std::nullopt, crds::DiskSource{(root_ / "web.qcow2").string()}, std::nullopt},
      crds::Disk{"vdb", crds::DiskBus::Sata, std::nullopt,
                 crds::DiskCreate{meta::Quantity::parse("1Gi").value(), std::nullopt}}};
  const drivers::StorageRoots roots({root_});
  auto volumes = volumesFor(web, "pool");
  ASSERT_EQ(volumes.size(), 1U);
  EXPECT_EQ(volumes[0].name, "vms.web-vdb.qcow2");
  EXPECT_EQ(volumes[0].capacityBytes, 1ULL << 30);
  auto spec = translateDomain(web, roots, {{"vdb", "/pool/vms.web-vdb.qcow2"}});
  ASSERT_TRUE(spec) << spec.error();
  EXPECT_EQ(spec->name, "vms.web");
  EXPECT_EQ(spec->vcpus, 2U);
  EXPECT_EQ(spec->memoryBytes, 128ULL << 20);
  ASSERT_EQ(spec->disks.size(), 2U);
  EXPECT_EQ(spec->disks[0].bus, "virtio");
  EXPECT_EQ(spec->disks[1].bus, "sata");
  EXPECT_EQ(spec->disks[1].path, "/pool/vms.web-vdb.qcow2");
  ASSERT_TRUE(spec->owner);
  EXPECT_EQ(spec->owner->uid, "1234");
}

TEST_F(DomainTranslation, APathOutsideTheAllowedRootsIsRefused) {
  crds::Domain web = domain();
  web.spec.disks = std::vector<crds::Disk>{crds::Disk{
      "vda", std::nullopt, crds::DiskSource{(root_ / ".." / "etc" / "shadow").string()}, std::nullopt}};
  auto spec = translateDomain(web, drivers::StorageRoots({root_}), {});
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error(), HasSubstr("spec.disks[0].source.path"));
}

}  // namespace
}  // namespace virtsnap::reconcilers
