#include "controller/apiserver/storage/continue_token.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crds/meta/base64.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

TEST(ContinueToken, IsKubeApiserversFormat) {
  const std::string text = encodeContinueToken({42, "vms", "web-01"});
  EXPECT_EQ(text.find('='), std::string::npos);  // unpadded URL-safe base64
  const auto decoded = meta::base64Decode(text);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(json::parse(*decoded),
            (json{{"v", "meta.k8s.io/v1"}, {"rv", 42}, {"start", std::string("vms/web-01") + '\0'}}));
}

TEST(ContinueToken, RoundTripsIncludingAClusterScopedName) {
  for (const ContinueToken& token : {ContinueToken{7, "vms", "web-01"}, ContinueToken{8, "", "default"}}) {
    const auto decoded = decodeContinueToken(encodeContinueToken(token));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->resourceVersion, token.resourceVersion);
    EXPECT_EQ(decoded->ns, token.ns);
    EXPECT_EQ(decoded->name, token.name);
  }
}

TEST(ContinueToken, AnythingElseIsRefused) {
  const auto encode = [](const json& content) {
    return meta::base64Encode(content.dump(), meta::Base64Alphabet::RawUrl);
  };
  EXPECT_FALSE(decodeContinueToken("garbage!").has_value());
  EXPECT_FALSE(decodeContinueToken(meta::base64Encode("not json")).has_value());
  EXPECT_FALSE(
      decodeContinueToken(encode({{"v", "meta.k8s.io/v2"}, {"rv", 1}, {"start", "a/b"}})).has_value());
  EXPECT_FALSE(
      decodeContinueToken(encode({{"v", "meta.k8s.io/v1"}, {"rv", -1}, {"start", "a/b"}})).has_value());
  EXPECT_FALSE(
      decodeContinueToken(encode({{"v", "meta.k8s.io/v1"}, {"rv", 1}, {"start", "no-slash"}})).has_value());
}

}  // namespace
}  // namespace virtsnap::apiserver
