// The CRD YAML is the single source of truth; these tests fail as soon as the C++ types and the
// schemas disagree in either direction:
//  - a field the encoders write, or the decoders look up, that the schema does not declare
//    (adding a field to a C++ type without the schema fails here, even if the maximal instance
//    forgets to set it, because the decoder still looks it up);
//  - a field the schema declares that the C++ types neither write nor read (it would be lost
//    on every read-modify-write);
//  - enum values that differ between the schema and the C++ enum tables.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"
#include "crds/meta/condition.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/maximal_objects.h"
#include "tests/support/schema_walk.h"

namespace virtsnap::crds {
namespace {

using meta::ConditionStatus;
using meta::DecodeResult;
using meta::FieldPathLog;
using ::testing::IsEmpty;
using testsupport::loadCrd;
using testsupport::openApiSchema;
using testsupport::resolveSchemaPath;
using testsupport::schemaPaths;
using testsupport::schemaProblems;
using testsupport::writtenPaths;

struct KindUnderTest {
  std::string kind;
  std::string crdFile;
  std::function<nlohmann::json()> encodeMaximal;
  // Decodes and returns the paths the decoder looked up; fails the test if decoding fails.
  std::function<FieldPathLog(const nlohmann::json&)> decodePaths;
  // Schema path of every enum -> the C++ enum's wire names.
  std::map<std::string, std::vector<std::string_view>> enums;
};

void PrintTo(const KindUnderTest& kind, std::ostream* out) {
  *out << kind.kind;
}

template <typename T>
FieldPathLog readPaths(DecodeResult<T> (*decode)(const nlohmann::json&, FieldPathLog*),
                       const nlohmann::json& json) {
  FieldPathLog log;
  const DecodeResult<T> result = decode(json, &log);
  EXPECT_TRUE(result.has_value()) << (result.has_value() ? "" : result.error().toString());
  return log;
}

std::vector<KindUnderTest> kinds() {
  const std::vector<std::string_view> conditionStatus = enumWireNames<ConditionStatus>();
  return {
      {"Domain",
       "virtsnap.io_domains.yaml",
       [] { return encodeDomain(testsupport::maximalDomain()); },
       [](const nlohmann::json& json) { return readPaths(&decodeDomain, json); },
       {{"spec.os.firmware", enumWireNames<Firmware>()},
        {"spec.disks[].bus", enumWireNames<DiskBus>()},
        {"spec.disks[].create.format", enumWireNames<ImageFormat>()},
        {"spec.runState", enumWireNames<RunState>()},
        {"spec.deletionPolicy", enumWireNames<DomainDeletionPolicy>()},
        {"spec.unmanagedSnapshots", enumWireNames<UnmanagedSnapshotPolicy>()},
        {"status.conditions[].status", conditionStatus},
        {"status.state", enumWireNames<DomainState>()}}},
      {"Snapshot",
       "virtsnap.io_snapshots.yaml",
       [] { return encodeSnapshot(testsupport::maximalSnapshot()); },
       [](const nlohmann::json& json) { return readPaths(&decodeSnapshot, json); },
       {{"spec.location", enumWireNames<SnapshotLocation>()},
        {"spec.deletionPolicy", enumWireNames<SnapshotDeletionPolicy>()},
        {"status.phase", enumWireNames<SnapshotPhase>()},
        {"status.conditions[].status", conditionStatus},
        {"status.domainState", enumWireNames<SnapshotDomainState>()},
        {"status.location", enumWireNames<SnapshotLocation>()},
        {"status.disks[].snapshot", enumWireNames<DiskSnapshotMode>()}}},
      {"SnapshotRevert",
       "virtsnap.io_snapshotreverts.yaml",
       [] { return encodeSnapshotRevert(testsupport::maximalSnapshotRevert()); },
       [](const nlohmann::json& json) { return readPaths(&decodeSnapshotRevert, json); },
       {{"status.phase", enumWireNames<RevertPhase>()}, {"status.conditions[].status", conditionStatus}}},
  };
}

bool isMetadataPath(const std::string& path) {
  return path.rfind("metadata.", 0) == 0;
}

class SchemaDriftTest : public ::testing::TestWithParam<KindUnderTest> {
 protected:
  const nlohmann::json crd_ = loadCrd(GetParam().crdFile);
  const nlohmann::json& schema_ = openApiSchema(crd_);
};

TEST_P(SchemaDriftTest, EveryFieldTheEncoderWritesIsDeclaredAndValid) {
  EXPECT_THAT(schemaProblems(GetParam().encodeMaximal(), schema_), IsEmpty());
}

TEST_P(SchemaDriftTest, EveryFieldTheDecoderReadsIsDeclared) {
  for (const std::string& path : GetParam().decodePaths(GetParam().encodeMaximal())) {
    if (!isMetadataPath(path)) {
      EXPECT_NE(resolveSchemaPath(schema_, path), nullptr)
          << path << " is read by the decoder but not in the CRD";
    }
  }
}

TEST_P(SchemaDriftTest, EverySchemaFieldIsWrittenByTheMaximalInstance) {
  const std::set<std::string> written = writtenPaths(GetParam().encodeMaximal());
  for (const std::string& path : schemaPaths(schema_)) {
    EXPECT_TRUE(written.count(path)) << path << " is in the CRD but the C++ types never write it";
  }
}

TEST_P(SchemaDriftTest, EverySchemaFieldIsReadByTheDecoder) {
  const FieldPathLog read = GetParam().decodePaths(GetParam().encodeMaximal());
  for (const std::string& path : schemaPaths(schema_)) {
    EXPECT_TRUE(read.count(path)) << path << " is in the CRD but the decoder never reads it";
  }
}

TEST_P(SchemaDriftTest, EnumTablesMatchTheSchemaEnums) {
  std::set<std::string> schemaEnumPaths;
  for (const std::string& path : schemaPaths(schema_)) {
    const nlohmann::json* node = resolveSchemaPath(schema_, path);
    ASSERT_NE(node, nullptr) << path;
    if (node->contains("enum")) {
      schemaEnumPaths.insert(path);
    }
  }
  std::set<std::string> mappedPaths;
  for (const auto& [path, cpp_names] : GetParam().enums) {
    mappedPaths.insert(path);
    const nlohmann::json* node = resolveSchemaPath(schema_, path);
    ASSERT_NE(node, nullptr) << path;
    ASSERT_TRUE(node->contains("enum")) << path;
    std::vector<std::string> schemaNames = (*node)["enum"].get<std::vector<std::string>>();
    EXPECT_EQ(schemaNames, std::vector<std::string>(cpp_names.begin(), cpp_names.end())) << path;
  }
  EXPECT_EQ(schemaEnumPaths, mappedPaths) << "every schema enum needs a C++ enum table in this test";
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SchemaDriftTest, ::testing::ValuesIn(kinds()),
                         [](const ::testing::TestParamInfo<KindUnderTest>& param) {
                           return param.param.kind;
                         });

// The checks above must be able to fail: drift introduced into a copy of the schema is reported.
TEST(SchemaDriftDetection, FieldRemovedFromTheSchemaIsReported) {
  nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_domains.yaml"));
  schema["properties"]["spec"]["properties"].erase("vcpus");
  schema["properties"]["status"]["properties"]["snapshotTree"]["items"]["properties"].erase("current");

  EXPECT_THAT(schemaProblems(encodeDomain(testsupport::maximalDomain()), schema),
              ::testing::IsSupersetOf({::testing::HasSubstr("spec.vcpus: is written by the C++ types"),
                                       ::testing::HasSubstr("status.snapshotTree[].current: is written")}));
  EXPECT_EQ(resolveSchemaPath(schema, "spec.vcpus"), nullptr);
}

TEST(SchemaDriftDetection, FieldAddedOnlyToTheEncodedObjectIsReported) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_snapshots.yaml"));
  nlohmann::json snapshot = encodeSnapshot(testsupport::maximalSnapshot());
  snapshot["spec"]["retention"] = "7d";
  snapshot["status"]["disks"][0]["sizeBytes"] = 1;

  EXPECT_THAT(schemaProblems(snapshot, schema),
              ::testing::UnorderedElementsAre(::testing::HasSubstr("spec.retention"),
                                              ::testing::HasSubstr("status.disks[].sizeBytes")));
}

TEST(SchemaDriftDetection, SchemaFieldWithoutCppFieldIsReported) {
  nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_snapshotreverts.yaml"));
  schema["properties"]["spec"]["properties"]["dryRun"] = {{"type", "boolean"}};
  const std::set<std::string> written =
      writtenPaths(encodeSnapshotRevert(testsupport::maximalSnapshotRevert()));
  EXPECT_TRUE(schemaPaths(schema).count("spec.dryRun"));
  EXPECT_FALSE(written.count("spec.dryRun"));
}

TEST(SchemaDriftDetection, WrongTypeOrEnumValueIsReported) {
  const nlohmann::json schema = openApiSchema(loadCrd("virtsnap.io_domains.yaml"));
  nlohmann::json domain = encodeDomain(testsupport::maximalDomain());
  domain["spec"]["vcpus"] = "two";
  domain["spec"]["runState"] = "Hibernating";
  EXPECT_THAT(
      schemaProblems(domain, schema),
      ::testing::UnorderedElementsAre(::testing::HasSubstr("spec.vcpus: must be an integer"),
                                      ::testing::HasSubstr("spec.runState: \"Hibernating\" is not one of")));
}

TEST(SchemaDriftDetection, DecoderLogRecordsAbsentOptionalFieldsToo) {
  // An example without status still makes the decoder look up (and log) every spec field it knows.
  FieldPathLog log;
  ASSERT_TRUE(
      decodeSnapshotRevert({{"spec", {{"domainName", "a"}, {"snapshotName", "b"}}}}, &log).has_value());
  EXPECT_TRUE(log.count("spec.force"));
  EXPECT_TRUE(log.count("status"));
}

}  // namespace
}  // namespace virtsnap::crds
