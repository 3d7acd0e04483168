// Domain XML rendered through libxml2 from a DomainSpec, and the ownership element.

#include "drivers/libvirt/domain_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/libvirt/xml_document.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

DomainSpec spec() {
  DomainSpec s;
  s.name = "team-a.web";
  s.vcpus = 2;
  s.memoryBytes = 512ull << 20;
  s.machine = "q35";
  s.disks.push_back(DiskSpec{"vda", "virtio", "/var/lib/virtsnap/images/web.qcow2", "qcow2", false});
  s.networks.push_back(NetworkSpec{"default", "", "virtio"});
  s.owner = Ownership{"team-a", "web", "uid-1"};
  return s;
}

// Reads one attribute at an element path (each step the first child of that name).
std::string at(const std::string& xml, std::initializer_list<std::string_view> path,
               std::string_view attribute) {
  xml::Document doc = xml::parse(xml);
  xmlNodePtr node = xmlDocGetRootElement(doc.get());
  for (std::string_view step : path) {
    node = xml::child(node, step);
  }
  return attribute.empty() ? xml::text(node) : xml::attribute(node, attribute).value_or("<absent>");
}

TEST(DomainXml, RendersEveryFieldOfTheSpec) {
  auto xml = renderDomainXml(spec());
  ASSERT_TRUE(xml.has_value()) << xml.error().message;
  const std::string& x = xml.value();
  EXPECT_EQ(at(x, {}, "type"), "kvm");
  EXPECT_EQ(at(x, {"name"}, ""), "team-a.web");
  EXPECT_EQ(at(x, {"memory"}, ""), "524288");
  EXPECT_EQ(at(x, {"memory"}, "unit"), "KiB");
  EXPECT_EQ(at(x, {"vcpu"}, ""), "2");
  EXPECT_EQ(at(x, {"os", "type"}, "machine"), "q35");
  EXPECT_EQ(at(x, {"devices", "disk", "source"}, "file"), "/var/lib/virtsnap/images/web.qcow2");
  EXPECT_EQ(at(x, {"devices", "disk", "driver"}, "type"), "qcow2");
  EXPECT_EQ(at(x, {"devices", "disk", "target"}, "dev"), "vda");
  EXPECT_EQ(at(x, {"devices", "interface", "source"}, "network"), "default");
  EXPECT_EQ(at(x, {"metadata", "owner"}, "uid"), "uid-1");
  EXPECT_THAT(x, HasSubstr(std::string(kOwnerNamespaceUri)));
  EXPECT_THAT(x, Not(HasSubstr("<uuid>")));
}

TEST(DomainXml, EfiFirmwareAndABridgeAndAKeptUuid) {
  DomainSpec s = spec();
  s.firmware = Firmware::Efi;
  s.networks = {NetworkSpec{"", "br0", "e1000"}};
  s.uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
  auto xml = renderDomainXml(s);
  ASSERT_TRUE(xml.has_value());
  EXPECT_EQ(at(xml.value(), {"os"}, "firmware"), "efi");
  EXPECT_EQ(at(xml.value(), {"devices", "interface"}, "type"), "bridge");
  EXPECT_EQ(at(xml.value(), {"devices", "interface", "source"}, "bridge"), "br0");
  EXPECT_EQ(at(xml.value(), {"uuid"}, ""), "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
}

TEST(DomainXml, HostileStringsStayStrings) {
  DomainSpec s = spec();
  s.name = "x<devices><hostdev mode='subsystem'><name>y";
  s.disks[0].path = "/var/lib/virtsnap/images/a'b\"c<d>.qcow2";
  s.owner = Ownership{"ns", "n\"/><evil a='", "u"};
  auto xml = renderDomainXml(s);
  ASSERT_TRUE(xml.has_value()) << xml.error().message;
  EXPECT_THAT(xml.value(), Not(HasSubstr("<hostdev")));
  EXPECT_THAT(xml.value(), Not(HasSubstr("<evil")));
  EXPECT_EQ(at(xml.value(), {"name"}, ""), s.name);
  EXPECT_EQ(at(xml.value(), {"devices", "disk", "source"}, "file"), s.disks[0].path);
  EXPECT_EQ(at(xml.value(), {"metadata", "owner"}, "name"), s.owner->name);
}

TEST(DomainXml, InvalidFieldsAreRefusedWithTheirName) {
  auto refused = [](auto mutate) {
    DomainSpec s = spec();
    mutate(s);
    auto xml = renderDomainXml(s);
    EXPECT_FALSE(xml.has_value());
    return xml.has_value() ? std::string() : xml.error().message;
  };
  EXPECT_THAT(refused([](DomainSpec& s) { s.name = ""; }), HasSubstr("domain name"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.name = "a/b"; }), HasSubstr("'/'"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.memoryBytes = 1000; }), HasSubstr("memory"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.memoryBytes = kMaxMemoryBytes + 1; }), HasSubstr("memory"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.name = std::string(kMaxDomainNameLength + 1, 'n'); }),
              HasSubstr("domain name"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.disks[0].bus = "floppy"; }), HasSubstr("bus"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.disks[0].format = "vmdk"; }), HasSubstr("format"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.disks.push_back(s.disks[0]); }), HasSubstr("used twice"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.disks[0].path = "relative"; }), HasSubstr("absolute"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.networks[0].model = "x"; }), HasSubstr("model"));
  EXPECT_THAT(refused([](DomainSpec& s) { s.owner = Ownership{"", "n", "u"}; }), HasSubstr("owner"));
}

TEST(OwnerElement, RoundTripsWithoutANamespaceDeclaration) {
  auto xml = renderOwnerElement(Ownership{"team-a", "web", "uid-1"});
  ASSERT_TRUE(xml.has_value());
  EXPECT_THAT(xml.value(), Not(HasSubstr("xmlns")));  // libvirt adds it itself
  auto owner = parseOwnerElement(xml.value());
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner.value(), (Ownership{"team-a", "web", "uid-1"}));
}

TEST(OwnerElement, ReadsTheNamespacedFormLibvirtReturns) {
  auto owner = parseOwnerElement(
      R"(<virtsnap:owner xmlns:virtsnap="https://virtsnap.io/xmlns/owner/v1" namespace="a" name="b" uid="c"/>)");
  ASSERT_TRUE(owner.has_value()) << owner.error().message;
  EXPECT_EQ(owner.value(), (Ownership{"a", "b", "c"}));
}

TEST(OwnerElement, MalformedElementsAreErrors) {
  for (std::string_view bad : {"", "<owner", "<other namespace='a' name='b'/>", "<owner name='b'/>"}) {
    EXPECT_FALSE(parseOwnerElement(bad).has_value()) << bad;
  }
}

TEST(DomainXml, ParsingWhatWasRenderedGivesTheSpecBackWithoutItsOwner) {
  DomainSpec written = spec();
  written.uuid = "6f1c2a0e-2f6b-4a53-9d3a-0c4e1b8f7a11";
  written.firmware = Firmware::Efi;
  written.disks.push_back(DiskSpec{"sdb", "sata", "/var/lib/virtsnap/images/data.raw", "raw", true});
  written.networks.push_back(NetworkSpec{"", "br0", "e1000"});
  auto xml = renderDomainXml(written);
  ASSERT_TRUE(xml.has_value()) << xml.error().message;
  auto read = parseDomainXml(xml.value());
  ASSERT_TRUE(read.has_value()) << read.error().message;
  DomainSpec expected = written;
  expected.owner.reset();
  EXPECT_EQ(read.value(), expected);
}

TEST(DomainXml, ParsingReadsLibvirtsUnitsAndMarksDevicesVirtsnapNeverWrites) {
  auto read = parseDomainXml(R"(<domain type='kvm'><name>d</name><memory unit='GiB'>2</memory>
      <vcpu placement='static'>4</vcpu><os><type arch='x86_64' machine='pc-i440fx-10.0'>hvm</type></os>
      <devices><disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='hdc' bus='ide'/>
      <readonly/></disk><disk type='block' device='disk'><driver name='qemu' type='raw'/>
      <source dev='/dev/sdz'/><target dev='vdb' bus='virtio'/></disk>
      <interface type='user'><model type='virtio'/></interface></devices></domain>)");
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->memoryBytes, 2ull << 30);
  EXPECT_EQ(read->vcpus, 4u);
  EXPECT_EQ(read->machine, "pc-i440fx-10.0");
  ASSERT_EQ(read->disks.size(), 2u);
  EXPECT_EQ(read->disks[0].path, "cdrom:/iso/x.iso");
  EXPECT_TRUE(read->disks[0].readOnly);
  EXPECT_EQ(read->disks[1].path, "disk:/dev/sdz");
  ASSERT_EQ(read->networks.size(), 1u);
  EXPECT_EQ(read->networks[0].network, "user:");
}

TEST(DomainXml, ParsingRefusesWhatIsNotADomainDefinition) {
  EXPECT_FALSE(parseDomainXml("<domain").has_value());
  EXPECT_FALSE(parseDomainXml("<network/>").has_value());
  EXPECT_FALSE(
      parseDomainXml("<domain><memory unit='parsecs'>1</memory><vcpu>1</vcpu></domain>").has_value());
  EXPECT_FALSE(parseDomainXml("<domain><memory>-5</memory><vcpu>1</vcpu></domain>").has_value());
  EXPECT_FALSE(parseDomainXml("<domain><memory>5</memory><vcpu>many</vcpu></domain>").has_value());
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
