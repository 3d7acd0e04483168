// libvirt snapshot XML through libxml2: rendering escapes user input, parsing reads what libvirt
// prints and rejects what is malformed with an error value.

#include "drivers/libvirt/snapshot_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/libvirt/xml_document.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

TEST(SnapshotXml, RenderEscapesEveryUserStringThroughTheXmlLibrary) {
  SnapshotRequest request;
  request.name = "a<b>&\"c'";
  request.description = "</description><memory snapshot='external'/>";
  auto xml = renderSnapshotXml(request);
  ASSERT_TRUE(xml.has_value());
  EXPECT_THAT(xml.value(), Not(HasSubstr("<memory")));
  EXPECT_THAT(xml.value(), HasSubstr("&lt;/description&gt;"));
  // What was written is read back unchanged.
  auto parsed = parseSnapshotXml(xml.value());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed.value().name, request.name);
  EXPECT_EQ(parsed.value().description, request.description);
  EXPECT_EQ(parsed.value().location, SnapshotLocation::Internal);
}

TEST(SnapshotXml, RenderExternalDiskOnlyWithOverlayFiles) {
  SnapshotRequest request;
  request.name = "ext";
  request.location = SnapshotLocation::External;
  request.memory = false;
  request.disks = {{"vda", "external", "/var/lib/virtsnap/vda.ext.qcow2"}, {"vdb", "no", ""}};
  auto xml = renderSnapshotXml(request);
  ASSERT_TRUE(xml.has_value());
  auto parsed = parseSnapshotXml(xml.value());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed.value().memory, "no");
  EXPECT_EQ(parsed.value().location, SnapshotLocation::External);
  ASSERT_EQ(parsed.value().disks.size(), 2u);
  EXPECT_EQ(parsed.value().disks[0], (SnapshotDisk{"vda", "external", "/var/lib/virtsnap/vda.ext.qcow2"}));
  EXPECT_EQ(parsed.value().disks[1], (SnapshotDisk{"vdb", "no", ""}));
}

TEST(SnapshotXml, RenderRefusesAnEmptyName) {
  EXPECT_FALSE(renderSnapshotXml(SnapshotRequest{}).has_value());
}

TEST(SnapshotXml, ParseReadsWhatLibvirtPrints) {
  constexpr std::string_view kDump = R"(<domainsnapshot>
  <name>s2</name>
  <description>after install</description>
  <state>running</state>
  <parent>
    <name>s1</name>
  </parent>
  <creationTime>1763776800</creationTime>
  <memory snapshot='external' file='/var/lib/libvirt/qemu/snapshot/vm/s2.mem'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/var/lib/libvirt/images/vm.s2'/>
    </disk>
  </disks>
  <domain type='kvm'><name>vm</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid></domain>
</domainsnapshot>)";
  auto parsed = parseSnapshotXml(kDump);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const SnapshotDefinition& def = parsed.value();
  EXPECT_EQ(def.name, "s2");
  EXPECT_EQ(def.description, "after install");
  EXPECT_EQ(def.state, "running");
  EXPECT_THAT(def.parent, Optional(std::string("s1")));
  EXPECT_EQ(def.creationTime, 1763776800);
  EXPECT_EQ(def.memory, "external");
  EXPECT_EQ(def.location, SnapshotLocation::External);
  ASSERT_EQ(def.disks.size(), 1u);
  EXPECT_EQ(def.disks[0].file, "/var/lib/libvirt/images/vm.s2");
  EXPECT_EQ(def.domainName, "vm");
  EXPECT_EQ(def.domainUuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
  EXPECT_EQ(def.xml, kDump);
  EXPECT_EQ(def.record(), (SnapshotRecord{"s2", std::string("s1"), SnapshotLocation::External}));
}

TEST(SnapshotXml, ParseRejectsMalformedInputWithAMessage) {
  for (std::string_view bad :
       {"", "<domainsnapshot>", "<other><name>x</name></other>", "<domainsnapshot/>",
        "<domainsnapshot><name>x</name><parent/></domainsnapshot>",
        "<domainsnapshot><name>x</name><creationTime>12abc</creationTime></domainsnapshot>"}) {
    auto parsed = parseSnapshotXml(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().kind, DriverErrorKind::Invalid);
    EXPECT_FALSE(parsed.error().message.empty());
  }
}

TEST(SnapshotXml, ParseDoesNotExpandEntitiesOrFetchExternalDefinitions) {
  constexpr std::string_view kHostile =
      R"(<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>)"
      R"(<domainsnapshot><name>&x;</name></domainsnapshot>)";
  auto parsed = parseSnapshotXml(kHostile);
  if (parsed.has_value()) {
    EXPECT_THAT(parsed.value().name, Not(HasSubstr("root:")));
  }
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
