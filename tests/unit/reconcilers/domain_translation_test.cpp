// A Domain resource in the hypervisor layer's terms (reconcilers/domain_translation.h).
#include "reconcilers/domain_translation.h"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

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

TEST(TextProblem, ControlCharactersAreNamedAndLineBreaksAreTextOnlyWhereAsked) {
  EXPECT_EQ(textProblem("f", "quotes \"'<&]]> and \xc3\xa9 are text", false), std::nullopt);
  EXPECT_THAT(textProblem("spec.x", std::string("a\0b", 3), false).value_or(""),
              HasSubstr("spec.x: control character 0x00 at byte 1"));
  EXPECT_THAT(textProblem("f", "a\x7f", false).value_or(""), HasSubstr("0x7f"));
  EXPECT_THAT(textProblem("f", "a\nb", false).value_or(""), HasSubstr("0x0a"));
  EXPECT_EQ(textProblem("f", "a\nb\tc\r", true), std::nullopt);
  EXPECT_THAT(textProblem("f", "a\x1b[2J", true).value_or(""), HasSubstr("0x1b"));
}

TEST(HypervisorProblem, WhatLibvirtCannotTakeIsNamedByItsField) {
  EXPECT_EQ(hypervisorProblem(domain()), std::nullopt);
  const auto problem = [](auto mutate) {
    crds::Domain web = domain();
    mutate(web);
    return hypervisorProblem(web).value_or("");
  };
  EXPECT_THAT(problem([](crds::Domain& d) { d.spec.hypervisorName = "a\x01"; }),
              HasSubstr("spec.hypervisorName"));
  EXPECT_THAT(problem([](crds::Domain& d) { d.spec.hypervisorName = ".."; }), HasSubstr("path segment"));
  EXPECT_EQ(problem([](crds::Domain& d) { d.spec.hypervisorName = std::string(200, 'n'); }), "");
  EXPECT_THAT(problem([](crds::Domain& d) { d.spec.hypervisorName = std::string(201, 'n'); }),
              HasSubstr("spec.hypervisorName: 201 characters"));
  // The default name, <namespace>.<name>, is named by metadata.name.
  EXPECT_THAT(problem([](crds::Domain& d) { d.metadata.name = std::string(253, 'n'); }),
              HasSubstr("metadata.name"));
  EXPECT_EQ(problem([](crds::Domain& d) { d.spec.memory = meta::Quantity::parse("8Pi").value(); }), "");
  // libvirt takes less than 2^53 KiB; 2^63-1 bytes rounds up to it.
  EXPECT_THAT(problem([](crds::Domain& d) {
                d.spec.memory =
                    meta::Quantity::fromJsonInteger(std::numeric_limits<std::int64_t>::max()).value();
              }),
              HasSubstr("spec.memory"));
  EXPECT_THAT(problem([](crds::Domain& d) {
                d.spec.disks = std::vector<crds::Disk>{
                    crds::Disk{"vda", std::nullopt, crds::DiskSource{"/images/a\x1b.qcow2"}, std::nullopt}};
              }),
              HasSubstr("spec.disks[0].source.path"));
  EXPECT_THAT(problem([](crds::Domain& d) {
                d.spec.networks = std::vector<crds::NetworkInterface>{
                    crds::NetworkInterface{std::string("net\x02"), std::nullopt, std::nullopt}};
              }),
              HasSubstr("spec.networks[0].network"));
  EXPECT_THAT(problem([](crds::Domain& d) {
                d.spec.networks = std::vector<crds::NetworkInterface>{
                    crds::NetworkInterface{std::string("default"), std::nullopt, std::string("ne2k")}};
              }),
              HasSubstr("spec.networks[0].model"));
}

// The guests of the QEMU host of tests/e2e/README.md (i686 and x86_64 for kvm and qemu) with an armv7l
// emulator that has no KVM; and of libvirt's test driver.
const drivers::GuestOffers kQemuHost{
    {"armv7l", {"qemu"}}, {"i686", {"kvm", "qemu"}}, {"x86_64", {"kvm", "qemu"}}};
const drivers::GuestOffers kTestDriver{{"i686", {"test"}}};

std::optional<std::string> guestProblemOf(std::optional<std::string> type, std::optional<std::string> arch,
                                          const drivers::GuestOffers& offers) {
  crds::Domain web = domain();
  web.spec.type = std::move(type);
  if (arch) {
    web.spec.os = crds::DomainOs{arch, std::nullopt, std::nullopt};
  }
  return guestProblem(web.spec, offers);
}

TEST(GuestProblem, AnOfferedGuestPassesAndTheDefaultsAreKvmOnX8664) {
  EXPECT_EQ(guestProblemOf("kvm", "x86_64", kQemuHost), std::nullopt);
  EXPECT_EQ(guestProblemOf("qemu", "armv7l", kQemuHost), std::nullopt);
  EXPECT_EQ(guestProblemOf(std::nullopt, std::nullopt, kQemuHost), std::nullopt);
  EXPECT_EQ(guestProblemOf("test", "i686", kTestDriver), std::nullopt);
  // spec.os without an arch is the default arch as well.
  crds::Domain web = domain();
  web.spec.type = "kvm";
  web.spec.os = crds::DomainOs{std::nullopt, std::string("pc"), std::nullopt};
  EXPECT_EQ(guestProblem(web.spec, kQemuHost), std::nullopt);
}

TEST(GuestProblem, AnArchTheHostDoesNotOfferIsNamedWithWhatItOffers) {
  EXPECT_EQ(guestProblemOf("kvm", "sparc64", kQemuHost),
            "spec.os.arch \"sparc64\" is not offered by this host (offered: armv7l, i686, x86_64)");
  // Names are libvirt's, exactly: no case folding.
  EXPECT_THAT(guestProblemOf("kvm", "X86_64", kQemuHost).value_or(""), HasSubstr("spec.os.arch \"X86_64\""));
  EXPECT_EQ(guestProblemOf("test", std::nullopt, kTestDriver),
            "spec.os.arch \"x86_64\" (the default) is not offered by this host (offered: i686)");
}

TEST(GuestProblem, ATypeTheHostDoesNotOfferIsNamedWithWhatItOffers) {
  EXPECT_EQ(guestProblemOf("xen", "x86_64", kQemuHost),
            "spec.type \"xen\" is not offered by this host (offered: kvm, qemu)");
  EXPECT_EQ(guestProblemOf(std::nullopt, "i686", kTestDriver),
            "spec.type \"kvm\" (the default) is not offered by this host (offered: test)");
  // Both wrong: both named.
  EXPECT_EQ(guestProblemOf("hyperv", "s390x", kTestDriver),
            "spec.os.arch \"s390x\" is not offered by this host (offered: i686); spec.type \"hyperv\" is not "
            "offered by this host (offered: test)");
}

TEST(GuestProblem, ATypeOfferedOnlyForOtherArchesIsNamedWithTheArchAndItsTypes) {
  EXPECT_EQ(guestProblemOf("kvm", "armv7l", kQemuHost),
            "spec.type \"kvm\" is not offered by this host for spec.os.arch \"armv7l\" (offered for armv7l: "
            "qemu)");
  // A host that offers nothing names nothing.
  EXPECT_EQ(guestProblemOf("kvm", "x86_64", {}),
            "spec.os.arch \"x86_64\" is not offered by this host (offered: none); spec.type \"kvm\" is not "
            "offered by this host (offered: none)");
}

}  // namespace
}  // namespace virtsnap::reconcilers
