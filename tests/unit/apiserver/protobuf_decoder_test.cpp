#include "controller/apiserver/protobuf_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace virtsnap::apiserver {
namespace {

using ::testing::HasSubstr;

// A minimal protobuf writer, enough to build what kubectl sends.
std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string bytesField(std::uint32_t number, const std::string& payload) {
  return varint((number << 3) | 2) + varint(payload.size()) + payload;
}
std::string varintField(std::uint32_t number, std::uint64_t value) {
  return varint(number << 3) + varint(value);
}

std::string envelope(const std::string& apiVersion, const std::string& kind, const std::string& raw) {
  const std::string typeMeta = bytesField(1, apiVersion) + bytesField(2, kind);
  return std::string("k8s\0", 4) + bytesField(1, typeMeta) + bytesField(2, raw) + bytesField(3, "") +
         bytesField(4, "");
}

TEST(ProtobufDecoder, DecodesTheNamespaceKubectlCreateSends) {
  const std::string meta = bytesField(1, "team-a") +
                           bytesField(11, bytesField(1, "env") + bytesField(2, "prod")) +
                           bytesField(12, bytesField(1, "note") + bytesField(2, "x")) + varintField(7, 3) +
                           bytesField(14, "example.com/keep");
  const std::string ns = bytesField(1, meta) + bytesField(2, bytesField(1, "kubernetes")) + bytesField(3, "");
  auto decoded = protobufToJson(envelope("v1", "Namespace", ns));
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  EXPECT_EQ(decoded.value(), nlohmann::json::parse(R"({
    "apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "team-a", "labels": {"env": "prod"}, "annotations": {"note": "x"},
                 "finalizers": ["example.com/keep"]},
    "spec": {"finalizers": ["kubernetes"]}})"));
}

TEST(ProtobufDecoder, RefusesOtherKindsNamingWhatItAccepts) {
  auto decoded = protobufToJson(envelope("v1", "ConfigMap", bytesField(1, bytesField(1, "c"))));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_THAT(decoded.error(), HasSubstr("only for v1 Namespace, not v1 ConfigMap"));
}

TEST(ProtobufDecoder, RefusesABodyWithoutTheMagic) {
  auto decoded = protobufToJson("{\"kind\":\"Namespace\"}");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_THAT(decoded.error(), HasSubstr("k8s\\0"));
}

// A cut inside the object is an error; a cut between the envelope's trailing fields leaves a valid
// message (protobuf fields are optional) that must decode to the same object, never to a partial one.
TEST(ProtobufDecoder, ATruncatedBodyIsAnErrorOrTheSameObjectNeverAPartialOne) {
  const std::string meta =
      bytesField(1, "team-a") + bytesField(11, bytesField(1, "env") + bytesField(2, "prod"));
  const std::string whole = envelope("v1", "Namespace", bytesField(1, meta));
  auto full = protobufToJson(whole);
  ASSERT_TRUE(full.has_value());
  int refused = 0;
  for (std::size_t size = 0; size < whole.size(); ++size) {
    auto decoded = protobufToJson(std::string_view(whole).substr(0, size));
    if (decoded.has_value()) {
      EXPECT_EQ(decoded.value(), full.value()) << "a body cut to " << size << " bytes";
    } else {
      ++refused;
    }
  }
  EXPECT_GE(refused, static_cast<int>(whole.size()) - 4);  // only the cuts after the object are whole
}

TEST(ProtobufDecoder, RefusesAnOverlongVarintAndAStringOfTheWrongWireType) {
  EXPECT_FALSE(protobufToJson(std::string("k8s\0", 4) + std::string(11, '\xff')).has_value());
  const std::string meta = varintField(1, 5);  // name as a number
  auto decoded = protobufToJson(envelope("v1", "Namespace", bytesField(1, meta)));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_THAT(decoded.error(), HasSubstr("metadata is not a string"));
}

TEST(ProtobufDecoder, RefusesAStringThatIsNotUtf8) {
  // Stored as it came, such a name could not be written as JSON afterwards (log, answers).
  auto decoded = protobufToJson(envelope("v1", "Namespace", bytesField(1, bytesField(1, "team-\xff"))));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_THAT(decoded.error(), HasSubstr("not a string"));
}

}  // namespace
}  // namespace virtsnap::apiserver
