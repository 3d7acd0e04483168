// The one base64 codec (crds/meta/base64.h): both alphabets, padding, and what decoding refuses.

#include "crds/meta/base64.h"

#include <string>

#include <gtest/gtest.h>

namespace virtsnap::meta {
namespace {

TEST(Base64, StandardIsPaddedRawUrlIsNot) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64Encode("\xfb\xff", Base64Alphabet::RawUrl), "-_8");
}

TEST(Base64, DecodesEitherAlphabetPaddedOrNotAcrossLineBreaks) {
  EXPECT_EQ(base64Decode("Zm8="), "fo");
  EXPECT_EQ(base64Decode("Zm8"), "fo");
  EXPECT_EQ(base64Decode("+/8="), "\xfb\xff");
  EXPECT_EQ(base64Decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64Decode("Zm9v\nYmFy\n"), "foobar");
  const std::string bytes("\x00\x01\x7f\x80\xff", 5);
  EXPECT_EQ(base64Decode(base64Encode(bytes)), bytes);
  EXPECT_EQ(base64Decode(base64Encode(bytes, Base64Alphabet::RawUrl)), bytes);
}

TEST(Base64, RefusesOtherCharactersAndDataAfterThePadding) {
  EXPECT_EQ(base64Decode("%%%not base64"), std::nullopt);
  EXPECT_EQ(base64Decode("Zm8=Zm8="), std::nullopt);
  EXPECT_EQ(base64Decode(std::string("Zm\0=", 4)), std::nullopt);
}

}  // namespace
}  // namespace virtsnap::meta
