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
using testsupport::LoadCrd;
using testsupport::OpenApiSchema;
using testsupport::ResolveSchemaPath;
using testsupport::SchemaPaths;
using testsupport::SchemaProblems;
using testsupport::WrittenPaths;

struct KindUnderTest {
  std::string kind;
  std::string crd_file;
  std::function<nlohmann::json()> encode_maximal;
  // Decodes and returns the paths the decoder looked up; fails the test if decoding fails.
  std::function<FieldPathLog(const nlohmann::json&)> decode_paths;
  // Schema path of every enum -> the C++ enum's wire names.
  std::map<std::string, std::vector<std::string_view>> enums;
};

void PrintTo(const KindUnderTest& kind, std::ostream* out) {
  *out << kind.kind;
}

template <typename T>
FieldPathLog ReadPaths(DecodeResult<T> (*decode)(const nlohmann::json&, FieldPathLog*),
                       const nlohmann::json& json) {
  FieldPathLog log;
  const DecodeResult<T> result = decode(json, &log);
  EXPECT_TRUE(result.has_value()) << (result.has_value() ? "" : result.error().toString());
  return log;
}

std::vector<KindUnderTest> Kinds() {
  const std::vector<std::string_view> condition_status = enumWireNames<ConditionStatus>();
  return {
      {"Domain",
       "virtsnap.io_domains.yaml",
       [] { return encodeDomain(testsupport::MaximalDomain()); },
       [](const nlohmann::json& json) { return ReadPaths(&decodeDomain, json); },
       {{"spec.os.firmware", enumWireNames<Firmware>()},
        {"spec.disks[].bus", enumWireNames<DiskBus>()},
        {"spec.disks[].create.format", enumWireNames<ImageFormat>()},
        {"spec.runState", enumWireNames<RunState>()},
        {"spec.deletionPolicy", enumWireNames<DomainDeletionPolicy>()},
        {"spec.unmanagedSnapshots", enumWireNames<UnmanagedSnapshotPolicy>()},
        {"status.conditions[].status", condition_status},
        {"status.state", enumWireNames<DomainState>()}}},
      {"Snapshot",
       "virtsnap.io_snapshots.yaml",
       [] { return encodeSnapshot(testsupport::MaximalSnapshot()); },
       [](const nlohmann::json& json) { return ReadPaths(&decodeSnapshot, json); },
       {{"spec.location", enumWireNames<SnapshotLocation>()},
        {"spec.deletionPolicy", enumWireNames<SnapshotDeletionPolicy>()},
        {"status.phase", enumWireNames<SnapshotPhase>()},
        {"status.conditions[].status", condition_status},
        {"status.domainState", enumWireNames<SnapshotDomainState>()},
        {"status.location", enumWireNames<SnapshotLocation>()},
        {"status.disks[].snapshot", enumWireNames<DiskSnapshotMode>()}}},
      {"SnapshotRevert",
       "virtsnap.io_snapshotreverts.yaml",
       [] { return encodeSnapshotRevert(testsupport::MaximalSnapshotRevert()); },
       [](const nlohmann::json& json) { return ReadPaths(&decodeSnapshotRevert, json); },
       {{"status.phase", enumWireNames<RevertPhase>()}, {"status.conditions[].status", condition_status}}},
  };
}

bool IsMetadataPath(const std::string& path) {
  return path.rfind("metadata.", 0) == 0;
}

class SchemaDriftTest : public ::testing::TestWithParam<KindUnderTest> {
 protected:
  const nlohmann::json crd_ = LoadCrd(GetParam().crd_file);
  const nlohmann::json& schema_ = OpenApiSchema(crd_);
};

TEST_P(SchemaDriftTest, EveryFieldTheEncoderWritesIsDeclaredAndValid) {
  EXPECT_THAT(SchemaProblems(GetParam().encode_maximal(), schema_), IsEmpty());
}

TEST_P(SchemaDriftTest, EveryFieldTheDecoderReadsIsDeclared) {
  for (const std::string& path : GetParam().decode_paths(GetParam().encode_maximal())) {
    if (!IsMetadataPath(path)) {
      EXPECT_NE(ResolveSchemaPath(schema_, path), nullptr)
          << path << " is read by the decoder but not in the CRD";
    }
  }
}

TEST_P(SchemaDriftTest, EverySchemaFieldIsWrittenByTheMaximalInstance) {
  const std::set<std::string> written = WrittenPaths(GetParam().encode_maximal());
  for (const std::string& path : SchemaPaths(schema_)) {
    EXPECT_TRUE(written.count(path)) << path << " is in the CRD but the C++ types never write it";
  }
}

TEST_P(SchemaDriftTest, EverySchemaFieldIsReadByTheDecoder) {
  const FieldPathLog read = GetParam().decode_paths(GetParam().encode_maximal());
  for (const std::string& path : SchemaPaths(schema_)) {
    EXPECT_TRUE(read.count(path)) << path << " is in the CRD but the decoder never reads it";
  }
}

TEST_P(SchemaDriftTest, EnumTablesMatchTheSchemaEnums) {
  std::set<std::string> schema_enum_paths;
  for (const std::string& path : SchemaPaths(schema_)) {
    const nlohmann::json* node = ResolveSchemaPath(schema_, path);
    ASSERT_NE(node, nullptr) << path;
    if (node->contains("enum")) {
      schema_enum_paths.insert(path);
    }
  }
  std::set<std::string> mapped_paths;
  for (const auto& [path, cpp_names] : GetParam().enums) {
    mapped_paths.insert(path);
    const nlohmann::json* node = ResolveSchemaPath(schema_, path);
    ASSERT_NE(node, nullptr) << path;
    ASSERT_TRUE(node->contains("enum")) << path;
    std::vector<std::string> schema_names = (*node)["enum"].get<std::vector<std::string>>();
    EXPECT_EQ(schema_names, std::vector<std::string>(cpp_names.begin(), cpp_names.end())) << path;
  }
  EXPECT_EQ(schema_enum_paths, mapped_paths) << "every schema enum needs a C++ enum table in this test";
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SchemaDriftTest, ::testing::ValuesIn(Kinds()),
                         [](const ::testing::TestParamInfo<KindUnderTest>& param) {
                           return param.param.kind;
                         });

// The checks above must be able to fail: drift introduced into a copy of the schema is reported.
TEST(SchemaDriftDetection, FieldRemovedFromTheSchemaIsReported) {
  nlohmann::json schema = OpenApiSchema(LoadCrd("virtsnap.io_domains.yaml"));
  schema["properties"]["spec"]["properties"].erase("vcpus");
  schema["properties"]["status"]["properties"]["snapshotTree"]["items"]["properties"].erase("current");

  EXPECT_THAT(SchemaProblems(encodeDomain(testsupport::MaximalDomain()), schema),
              ::testing::IsSupersetOf({::testing::HasSubstr("spec.vcpus: is written by the C++ types"),
                                       ::testing::HasSubstr("status.snapshotTree[].current: is written")}));
  EXPECT_EQ(ResolveSchemaPath(schema, "spec.vcpus"), nullptr);
}

TEST(SchemaDriftDetection, FieldAddedOnlyToTheEncodedObjectIsReported) {
  const nlohmann::json schema = OpenApiSchema(LoadCrd("virtsnap.io_snapshots.yaml"));
  nlohmann::json snapshot = encodeSnapshot(testsupport::MaximalSnapshot());
  snapshot["spec"]["retention"] = "7d";
  snapshot["status"]["disks"][0]["sizeBytes"] = 1;

  EXPECT_THAT(SchemaProblems(snapshot, schema),
              ::testing::UnorderedElementsAre(::testing::HasSubstr("spec.retention"),
                                              ::testing::HasSubstr("status.disks[].sizeBytes")));
}

TEST(SchemaDriftDetection, SchemaFieldWithoutCppFieldIsReported) {
  nlohmann::json schema = OpenApiSchema(LoadCrd("virtsnap.io_snapshotreverts.yaml"));
  schema["properties"]["spec"]["properties"]["dryRun"] = {{"type", "boolean"}};
  const std::set<std::string> written =
      WrittenPaths(encodeSnapshotRevert(testsupport::MaximalSnapshotRevert()));
  EXPECT_TRUE(SchemaPaths(schema).count("spec.dryRun"));
  EXPECT_FALSE(written.count("spec.dryRun"));
}

TEST(SchemaDriftDetection, WrongTypeOrEnumValueIsReported) {
  const nlohmann::json schema = OpenApiSchema(LoadCrd("virtsnap.io_domains.yaml"));
  nlohmann::json domain = encodeDomain(testsupport::MaximalDomain());
  domain["spec"]["vcpus"] = "two";
  domain["spec"]["runState"] = "Hibernating";
  EXPECT_THAT(
      SchemaProblems(domain, schema),
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
