// The guests of libvirt's host capabilities through libxml2 (drivers/libvirt/capabilities_xml.h): what
// libvirt's test driver and a QEMU host print, merged per architecture, and malformed documents refused.

#include "drivers/libvirt/capabilities_xml.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `virsh -c test:///default capabilities` (libvirt 11.3), verbatim: one arch, i686, for two OS types.
constexpr std::string_view kTestDriver = R"(<capabilities>

  <host>
    <cpu>
      <arch>i686</arch>
      <features>
        <pae/>
        <nonpae/>
      </features>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='8'/>
      <pages unit='KiB' size='2048'/>
      <pages unit='KiB' size='1048576'/>
    </cpu>
    <power_management/>
    <iommu support='no'/>
    <topology>
      <cells num='2'>
        <cell id='0'>
          <memory unit='KiB'>2097152</memory>
          <pages unit='KiB' size='4'>524288</pages>
          <pages unit='KiB' size='2048'>0</pages>
          <pages unit='KiB' size='1048576'>0</pages>
          <cpus num='8'>
            <cpu id='0' socket_id='0' die_id='0' cluster_id='0' core_id='0' siblings='0'/>
            <cpu id='1' socket_id='0' die_id='0' cluster_id='0' core_id='1' siblings='1'/>
            <cpu id='2' socket_id='0' die_id='0' cluster_id='0' core_id='2' siblings='2'/>
            <cpu id='3' socket_id='0' die_id='0' cluster_id='0' core_id='3' siblings='3'/>
            <cpu id='4' socket_id='0' die_id='0' cluster_id='0' core_id='4' siblings='4'/>
            <cpu id='5' socket_id='0' die_id='0' cluster_id='0' core_id='5' siblings='5'/>
            <cpu id='6' socket_id='0' die_id='0' cluster_id='0' core_id='6' siblings='6'/>
            <cpu id='7' socket_id='0' die_id='0' cluster_id='0' core_id='7' siblings='7'/>
          </cpus>
        </cell>
        <cell id='1'>
          <memory unit='KiB'>4194304</memory>
          <pages unit='KiB' size='8'>524288</pages>
          <pages unit='KiB' size='2048'>0</pages>
          <pages unit='KiB' size='1048576'>0</pages>
          <cpus num='8'>
            <cpu id='8' socket_id='1' die_id='0' cluster_id='0' core_id='0' siblings='8'/>
            <cpu id='9' socket_id='1' die_id='0' cluster_id='0' core_id='1' siblings='9'/>
            <cpu id='10' socket_id='1' die_id='0' cluster_id='0' core_id='2' siblings='10'/>
            <cpu id='11' socket_id='1' die_id='0' cluster_id='0' core_id='3' siblings='11'/>
            <cpu id='12' socket_id='1' die_id='0' cluster_id='0' core_id='4' siblings='12'/>
            <cpu id='13' socket_id='1' die_id='0' cluster_id='0' core_id='5' siblings='13'/>
            <cpu id='14' socket_id='1' die_id='0' cluster_id='0' core_id='6' siblings='14'/>
            <cpu id='15' socket_id='1' die_id='0' cluster_id='0' core_id='7' siblings='15'/>
          </cpus>
        </cell>
      </cells>
    </topology>
    <secmodel>
      <model>testSecurity</model>
      <doi></doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

  <guest>
    <os_type>xen</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/test-hv</emulator>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

</capabilities>)";

// A QEMU host as tests/e2e/README.md describes it (libvirt 11.3, qemu-system-x86, /dev/kvm): i686 and
// x86_64, each for domain types qemu and kvm, in libvirt's layout (machines abridged), plus an armv7l
// emulator without KVM (qemu-system-arm installed on the same host), which offers only qemu.
constexpr std::string_view kQemuHost = R"(<capabilities>
  <host>
    <uuid>0b1a1c2e-8e1f-4c59-9d3e-0d3b8c0e7a11</uuid>
    <cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model></cpu>
    <migration_features><live/></migration_features>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='armv7l'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/qemu-system-arm</emulator>
      <machine maxCpus='8'>virt</machine>
      <domain type='qemu'/>
    </arch>
    <features><cpuselection/><deviceboot/><disksnapshot default='on' toggle='no'/><externalSnapshot/></features>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <emulator>/usr/bin/qemu-system-i386</emulator>
      <machine maxCpus='255'>pc-i440fx-10.0</machine>
      <machine canonical='pc-i440fx-10.0' maxCpus='255'>pc</machine>
      <machine maxCpus='4096'>pc-q35-10.0</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features><pae/><nonpae/><acpi default='on' toggle='yes'/><disksnapshot default='on' toggle='no'/><externalSnapshot/></features>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine maxCpus='255'>pc-i440fx-10.0</machine>
      <machine canonical='pc-i440fx-10.0' maxCpus='255'>pc</machine>
      <machine maxCpus='4096'>pc-q35-10.0</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
    <features><acpi default='on' toggle='yes'/><disksnapshot default='on' toggle='no'/><externalSnapshot/></features>
  </guest>
</capabilities>
)";

TEST(GuestOffersXml, TheTestDriverOffersI686ForTypeTest) {
  auto offers = parseGuestOffers(kTestDriver, kRenderedOsType);
  ASSERT_TRUE(offers.has_value()) << offers.error().message;
  EXPECT_THAT(offers.value(), ElementsAre(GuestOffer{"i686", {"test"}}));
}

TEST(GuestOffersXml, AQemuHostOffersEachArchWithItsOwnDomainTypes) {
  auto offers = parseGuestOffers(kQemuHost, kRenderedOsType);
  ASSERT_TRUE(offers.has_value()) << offers.error().message;
  EXPECT_THAT(offers.value(), ElementsAre(GuestOffer{"armv7l", {"qemu"}}, GuestOffer{"i686", {"kvm", "qemu"}},
                                          GuestOffer{"x86_64", {"kvm", "qemu"}}));
}

TEST(GuestOffersXml, OnlyGuestsOfTheAskedOsTypeCountAndTheirArchesAreMerged) {
  constexpr std::string_view kMixed = R"(<capabilities>
  <guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
  <guest><os_type> hvm </os_type><arch name='i686'><domain type='xen'/></arch></guest>
  <guest><os_type>hvm</os_type><arch name='i686'><domain type='kvm'/><domain type='xen'/></arch></guest>
  <guest><os_type>hvm</os_type><arch name='aarch64'></arch></guest>
  <guest><os_type>exe</os_type><arch name='x86_64'><domain type='lxc'/></arch></guest>
</capabilities>)";
  auto hvm = parseGuestOffers(kMixed, "hvm");
  ASSERT_TRUE(hvm.has_value()) << hvm.error().message;
  // aarch64 has no domain type: nothing can be defined for it.
  EXPECT_THAT(hvm.value(), ElementsAre(GuestOffer{"i686", {"kvm", "xen"}}));
  auto exe = parseGuestOffers(kMixed, "exe");
  ASSERT_TRUE(exe.has_value());
  EXPECT_THAT(exe.value(), ElementsAre(GuestOffer{"x86_64", {"lxc"}}));
  auto none = parseGuestOffers("<capabilities><host/></capabilities>", "hvm");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none.value().empty());
}

TEST(GuestOffersXml, TextThatOnlyLooksLikeAGuestIsNotOne) {
  // Elements are read, not strings searched: a guest in a comment or CDATA, or below another element,
  // offers nothing.
  constexpr std::string_view kDecoys = R"(<capabilities>
  <!-- <guest><os_type>hvm</os_type><arch name='sparc64'><domain type='kvm'/></arch></guest> -->
  <host><guest><os_type>hvm</os_type><arch name='ppc64'><domain type='kvm'/></arch></guest></host>
  <guest><os_type>hvm</os_type><arch name='x86_64'><![CDATA[<domain type='xen'/>]]><domain type='kvm'/></arch></guest>
</capabilities>)";
  auto offers = parseGuestOffers(kDecoys, "hvm");
  ASSERT_TRUE(offers.has_value()) << offers.error().message;
  EXPECT_THAT(offers.value(), ElementsAre(GuestOffer{"x86_64", {"kvm"}}));
}

TEST(GuestOffersXml, MalformedDocumentsAreRefusedWithAnError) {
  for (const std::string_view bad : {std::string_view("<capabilities><guest>"), std::string_view(""),
                                     std::string_view("<domain type='kvm'/>")}) {
    auto offers = parseGuestOffers(bad, "hvm");
    ASSERT_FALSE(offers.has_value()) << bad;
    EXPECT_EQ(offers.error().kind, DriverErrorKind::Invalid);
    EXPECT_THAT(offers.error().message, HasSubstr("host capabilities"));
  }
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
