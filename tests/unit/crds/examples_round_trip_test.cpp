// Every manifest in deploy/examples decodes into the C++ types and encodes back to exactly the
// JSON it came from, and so does a fully populated object as the API server returns it.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/maximal_objects.h"
#include "tests/support/schema_walk.h"
#include "tests/support/yaml_files.h"

namespace virtsnap::crds {
namespace {

using meta::DecodeException;
using meta::DecodeResult;
using meta::FieldPathLog;
using testsupport::loadYamlDocuments;
using testsupport::sourcePath;

// Decodes `json` as its kind and encodes it again; the error message if decoding failed.
nlohmann::json decodeAndEncode(const nlohmann::json& json, std::string& error) {
  const std::string kind = json.value("kind", "");
  auto finish = [&error](const auto& result, auto encode) -> nlohmann::json {
    if (!result.has_value()) {
      error = result.error().toString();
      return nullptr;
    }
    return encode(result.value());
  };
  if (kind == "Domain") {
    return finish(decodeDomain(json), encodeDomain);
  }
  if (kind == "Snapshot") {
    return finish(decodeSnapshot(json), encodeSnapshot);
  }
  if (kind == "SnapshotRevert") {
    return finish(decodeSnapshotRevert(json), encodeSnapshotRevert);
  }
  error = "unknown kind \"" + kind + "\"";
  return nullptr;
}

std::vector<std::filesystem::path> exampleFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(sourcePath("deploy/examples"))) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path());
    }
  }
  return files;
}

TEST(ExamplesRoundTrip, EveryExampleManifestRoundTripsWithoutLoss) {
  std::set<std::string> kindsSeen;
  int documents = 0;
  for (const std::filesystem::path& file : exampleFiles()) {
    for (const nlohmann::json& document : loadYamlDocuments(file)) {
      SCOPED_TRACE(file.filename().string() + " " + document["metadata"].value("name", ""));
      std::string error;
      const nlohmann::json encoded = decodeAndEncode(document, error);
      ASSERT_TRUE(error.empty()) << error;
      EXPECT_EQ(encoded, document) << "decoded and encoded:\n"
                                   << encoded.dump(2) << "\ninput:\n"
                                   << document.dump(2);
      kindsSeen.insert(document["kind"].get<std::string>());
      ++documents;
    }
  }
  EXPECT_GE(documents, 6);
  EXPECT_EQ(kindsSeen, (std::set<std::string>{"Domain", "Snapshot", "SnapshotRevert"}));
}

TEST(ExamplesRoundTrip, EveryExampleManifestSatisfiesItsSchema) {
  const std::map<std::string, std::string> crdFiles{{"Domain", "virtsnap.io_domains.yaml"},
                                                    {"Snapshot", "virtsnap.io_snapshots.yaml"},
                                                    {"SnapshotRevert", "virtsnap.io_snapshotreverts.yaml"}};
  for (const std::filesystem::path& file : exampleFiles()) {
    for (const nlohmann::json& document : loadYamlDocuments(file)) {
      const nlohmann::json crd = testsupport::loadCrd(crdFiles.at(document["kind"].get<std::string>()));
      EXPECT_TRUE(testsupport::schemaProblems(document, testsupport::openApiSchema(crd)).empty())
          << file << ": "
          << ::testing::PrintToString(testsupport::schemaProblems(document, testsupport::openApiSchema(crd)));
    }
  }
}

TEST(ExamplesRoundTrip, ExampleSpecsPassTheCrossFieldRules) {
  for (const std::filesystem::path& file : exampleFiles()) {
    for (const nlohmann::json& document : loadYamlDocuments(file)) {
      SCOPED_TRACE(file.filename().string());
      if (document["kind"] == "Domain") {
        EXPECT_TRUE(validateDomainSpec(decodeDomain(document).value().spec).empty());
      } else if (document["kind"] == "Snapshot") {
        EXPECT_TRUE(validateSnapshotSpec(decodeSnapshot(document).value().spec).empty());
      }
    }
  }
}

TEST(ExamplesRoundTrip, ExamplesCoverTheDocumentedScenarios) {
  bool createdQcow2WithNetwork = false, adoptedSourcePath = false, externalMemory = false,
       diskOnlyQuiesce = false, revert = false;
  for (const std::filesystem::path& file : exampleFiles()) {
    for (const nlohmann::json& document : loadYamlDocuments(file)) {
      if (document["kind"] == "Domain") {
        const DomainSpec spec = decodeDomain(document).value().spec;
        for (const Disk& disk : spec.disks.value_or(std::vector<Disk>{})) {
          createdQcow2WithNetwork |= disk.create && disk.create->format == ImageFormat::Qcow2 &&
                                     spec.networks && !spec.networks->empty();
          adoptedSourcePath |= disk.source && spec.adoptExisting == true;
        }
      } else if (document["kind"] == "Snapshot") {
        const SnapshotSpec spec = decodeSnapshot(document).value().spec;
        externalMemory |= spec.location == SnapshotLocation::External && spec.memory == true;
        diskOnlyQuiesce |= spec.memory == false && spec.quiesce == true;
      } else if (document["kind"] == "SnapshotRevert") {
        revert = true;
      }
    }
  }
  EXPECT_TRUE(createdQcow2WithNetwork);
  EXPECT_TRUE(adoptedSourcePath);
  EXPECT_TRUE(externalMemory);
  EXPECT_TRUE(diskOnlyQuiesce);
  EXPECT_TRUE(revert);
}

template <typename T>
void expectServerObjectRoundTrips(const T& object,
                                  DecodeResult<T> (*decode)(const nlohmann::json&, FieldPathLog*),
                                  nlohmann::json (*encode)(const T&)) {
  const nlohmann::json encoded = encode(object);
  const DecodeResult<T> decoded = decode(encoded, nullptr);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().toString();
  EXPECT_TRUE(decoded.value() == object);
  EXPECT_EQ(encode(decoded.value()), encoded);
}

TEST(ServerObjectRoundTrip, FullyPopulatedDomainRoundTrips) {
  expectServerObjectRoundTrips(testsupport::maximalDomain(), &decodeDomain, &encodeDomain);
}

TEST(ServerObjectRoundTrip, FullyPopulatedSnapshotRoundTrips) {
  expectServerObjectRoundTrips(testsupport::maximalSnapshot(), &decodeSnapshot, &encodeSnapshot);
}

TEST(ServerObjectRoundTrip, FullyPopulatedSnapshotRevertRoundTrips) {
  expectServerObjectRoundTrips(testsupport::maximalSnapshotRevert(), &decodeSnapshotRevert,
                               &encodeSnapshotRevert);
}

TEST(ServerObjectRoundTrip, UnknownMetadataFieldsAndManagedFieldsArePreserved) {
  nlohmann::json json = encodeDomain(testsupport::maximalDomain());
  json["metadata"]["futureField"] = {{"nested", {1, 2, 3}}};
  const DecodeResult<Domain> decoded = decodeDomain(json);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded.value().metadata.unknownFields["futureField"], json["metadata"]["futureField"]);
  EXPECT_EQ(*decoded.value().metadata.managedFields, json["metadata"]["managedFields"]);
  EXPECT_EQ(encodeDomain(decoded.value()), json);
}

TEST(ServerObjectRoundTrip, AbsentOptionalFieldsStayAbsent) {
  const nlohmann::json minimal = {{"apiVersion", "virtsnap.io/v1alpha1"},
                                  {"kind", "Domain"},
                                  {"metadata", {{"name", "a"}}},
                                  {"spec", {{"nodeName", "n"}, {"disks", nlohmann::json::array()}}}};
  const DecodeResult<Domain> decoded = decodeDomain(minimal);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(decoded.value().spec.vcpus.has_value());
  EXPECT_FALSE(decoded.value().status.has_value());
  ASSERT_TRUE(decoded.value().spec.disks.has_value());  // an empty list is not an absent one
  EXPECT_EQ(encodeDomain(decoded.value()), minimal);
}

TEST(ServerObjectRoundTrip, QuantityKeepsItsSpellingAndJsonType) {
  nlohmann::json json = encodeDomain(testsupport::maximalDomain());
  json["spec"]["memory"] = 1073741824;
  json["spec"]["disks"][0]["create"]["size"] = "0.5Ti";
  const DecodeResult<Domain> decoded = decodeDomain(json);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded.value().spec.memory->bytes(), 1073741824);
  EXPECT_EQ((*decoded.value().spec.disks)[0].create->size.bytes(), std::int64_t{1} << 39);
  EXPECT_EQ(encodeDomain(decoded.value()), json);
}

TEST(ServerObjectRoundTrip, NlohmannHooksWork) {
  const Snapshot snapshot = testsupport::maximalSnapshot();
  const nlohmann::json json = snapshot;
  EXPECT_TRUE(json.get<Snapshot>() == snapshot);
  EXPECT_THROW((void)nlohmann::json({{"kind", "Snapshot"}}).get<Snapshot>(), DecodeException);
}

}  // namespace
}  // namespace virtsnap::crds
