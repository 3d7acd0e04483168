// Bad input gives a DecodeError naming the field and what was wrong, never a crash or exception.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/maximal_objects.h"

namespace virtsnap::crds {
namespace {

using meta::DecodeError;
using meta::DecodeException;
using meta::DecodeResult;
using ::testing::HasSubstr;

DecodeError domainError(const nlohmann::json& json) {
  const DecodeResult<Domain> result = decodeDomain(json);
  EXPECT_FALSE(result.has_value()) << json.dump();
  return result.has_value() ? DecodeError{} : result.error();
}

nlohmann::json validDomain() {
  return encodeDomain(testsupport::maximalDomain());
}

TEST(DecodeErrors, DocumentThatIsNotAnObject) {
  for (const nlohmann::json& json :
       {nlohmann::json(nullptr), nlohmann::json("Domain"), nlohmann::json::array()}) {
    const DecodeError error = domainError(json);
    EXPECT_EQ(error.path, "");
    EXPECT_THAT(error.message, HasSubstr("must be an object"));
  }
}

TEST(DecodeErrors, WrongKindOrApiVersion) {
  nlohmann::json json = validDomain();
  json["kind"] = "Snapshot";
  EXPECT_EQ(domainError(json), (DecodeError{"kind", "must be \"Domain\", got \"Snapshot\""}));
  json = validDomain();
  json["apiVersion"] = "virtsnap.io/v1";
  EXPECT_EQ(domainError(json).path, "apiVersion");
}

TEST(DecodeErrors, MissingRequiredFields) {
  nlohmann::json json = validDomain();
  json.erase("spec");
  EXPECT_EQ(domainError(json), (DecodeError{"spec", "required field is missing"}));

  json = validDomain();
  json["spec"].erase("nodeName");
  EXPECT_EQ(domainError(json), (DecodeError{"spec.nodeName", "required field is missing"}));

  json = validDomain();
  json["spec"]["disks"][1].erase("name");
  EXPECT_EQ(domainError(json), (DecodeError{"spec.disks[1].name", "required field is missing"}));

  json = validDomain();
  json["status"]["conditions"][1].erase("lastTransitionTime");
  EXPECT_EQ(domainError(json).path, "status.conditions[1].lastTransitionTime");
}

TEST(DecodeErrors, WrongTypes) {
  nlohmann::json json = validDomain();
  json["spec"]["vcpus"] = "2";
  EXPECT_EQ(domainError(json), (DecodeError{"spec.vcpus", "must be an integer, got string"}));

  json = validDomain();
  json["spec"]["vcpus"] = 2.5;
  EXPECT_EQ(domainError(json), (DecodeError{"spec.vcpus", "must be an integer, got 2.5"}));

  json = validDomain();
  json["spec"]["adoptExisting"] = "yes";
  EXPECT_EQ(domainError(json), (DecodeError{"spec.adoptExisting", "must be a boolean, got string"}));

  json = validDomain();
  json["spec"]["disks"] = {{"name", "vda"}};
  EXPECT_EQ(domainError(json), (DecodeError{"spec.disks", "must be a list, got object"}));

  json = validDomain();
  json["spec"]["disks"][0]["create"] = "20Gi";
  EXPECT_EQ(domainError(json), (DecodeError{"spec.disks[0].create", "must be an object, got string"}));

  json = validDomain();
  json["metadata"]["labels"]["app"] = 3;
  EXPECT_EQ(domainError(json), (DecodeError{"metadata.labels.app", "must be a string, got number"}));

  json = validDomain();
  json["status"]["unmanagedSnapshots"][0] = false;
  EXPECT_EQ(domainError(json),
            (DecodeError{"status.unmanagedSnapshots[0]", "must be a string, got boolean"}));
}

TEST(DecodeErrors, OutOfRangeIntegers) {
  nlohmann::json json = validDomain();
  json["spec"]["vcpus"] = 0;
  EXPECT_EQ(domainError(json), (DecodeError{"spec.vcpus", "must be between 1 and 2147483647, got 0"}));
  json["spec"]["vcpus"] = 4294967296;
  EXPECT_EQ(domainError(json).path, "spec.vcpus");
  json = validDomain();
  json["metadata"]["generation"] = UINT64_MAX;
  EXPECT_EQ(domainError(json).path, "metadata.generation");
}

// Found by tests/fuzz/api_json_fuzzer: a 0 parsed from text is an unsigned JSON number, and the lower
// bound used to be checked for signed numbers only.
TEST(DecodeErrors, OutOfRangeIntegersParsedFromTextAreRefusedToo) {
  nlohmann::json json = validDomain();
  json["spec"]["vcpus"] = 2;
  std::string text = json.dump();
  text.replace(text.find("\"vcpus\":2"), 9, "\"vcpus\":0");
  EXPECT_EQ(domainError(nlohmann::json::parse(text)),
            (DecodeError{"spec.vcpus", "must be between 1 and 2147483647, got 0"}));
}

TEST(DecodeErrors, UnknownEnumValueListsTheAllowedOnes) {
  nlohmann::json json = validDomain();
  json["spec"]["runState"] = "running";
  EXPECT_EQ(
      domainError(json),
      (DecodeError{"spec.runState", "must be one of \"Running\", \"Paused\", \"Stopped\"; got \"running\""}));
  json = validDomain();
  json["status"]["conditions"][0]["status"] = "true";
  EXPECT_EQ(domainError(json).path, "status.conditions[0].status");
}

TEST(DecodeErrors, BadQuantityNamesTheFieldAndTheProblem) {
  nlohmann::json json = validDomain();
  json["spec"]["memory"] = "2 GB";
  EXPECT_EQ(domainError(json), (DecodeError{"spec.memory",
                                            "invalid quantity \"2 GB\": unknown suffix \" GB\" at "
                                            "position 1 (expected Ki Mi Gi Ti Pi Ei, n u m k M G T "
                                            "P E, or an exponent such as e6)"}));
  json = validDomain();
  json["spec"]["disks"][0]["create"]["size"] = "-10Gi";
  const DecodeError negative = domainError(json);
  EXPECT_EQ(negative.path, "spec.disks[0].create.size");
  EXPECT_THAT(negative.message, HasSubstr("cannot be negative"));
  json["spec"]["disks"][0]["create"]["size"] = "";
  EXPECT_EQ(domainError(json).message, "invalid quantity: empty");
}

TEST(DecodeErrors, BadTimestamp) {
  nlohmann::json json = validDomain();
  json["metadata"]["creationTimestamp"] = "yesterday";
  EXPECT_EQ(domainError(json).path, "metadata.creationTimestamp");
  json = validDomain();
  json["status"]["conditions"][0]["lastTransitionTime"] = "2024-02-30T00:00:00Z";
  EXPECT_THAT(domainError(json).toString(),
              HasSubstr("status.conditions[0].lastTransitionTime: must be an RFC 3339 timestamp"));
}

TEST(DecodeErrors, SnapshotAndRevertErrorsNameTheirFields) {
  nlohmann::json snapshot = encodeSnapshot(testsupport::maximalSnapshot());
  snapshot["status"]["disks"][0]["snapshot"] = "external";
  const DecodeResult<Snapshot> badSnapshot = decodeSnapshot(snapshot);
  ASSERT_FALSE(badSnapshot.has_value());
  EXPECT_EQ(badSnapshot.error().path, "status.disks[0].snapshot");

  nlohmann::json revert = encodeSnapshotRevert(testsupport::maximalSnapshotRevert());
  revert["spec"].erase("snapshotName");
  const DecodeResult<SnapshotRevert> badRevert = decodeSnapshotRevert(revert);
  ASSERT_FALSE(badRevert.has_value());
  EXPECT_EQ(badRevert.error().toString(), "spec.snapshotName: required field is missing");
}

TEST(DecodeErrors, NullCountsAsAbsent) {
  nlohmann::json json = validDomain();
  json["spec"]["vcpus"] = nullptr;
  json["status"] = nullptr;
  const DecodeResult<Domain> result = decodeDomain(json);
  ASSERT_TRUE(result.has_value()) << result.error().toString();
  EXPECT_FALSE(result.value().spec.vcpus.has_value());
  EXPECT_FALSE(result.value().status.has_value());
}

TEST(DecodeErrors, FromJsonThrowsTheSameError) {
  nlohmann::json json = validDomain();
  json["spec"]["os"]["firmware"] = "uefi";
  try {
    (void)json.get<Domain>();
    FAIL() << "expected DecodeException";
  } catch (const DecodeException& e) {
    EXPECT_EQ(e.error().path, "spec.os.firmware");
    EXPECT_THAT(e.what(), HasSubstr("spec.os.firmware: must be one of \"bios\", \"efi\""));
  }
}

}  // namespace
}  // namespace virtsnap::crds
