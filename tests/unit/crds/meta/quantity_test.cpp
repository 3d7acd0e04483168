#include "crds/meta/quantity.h"

#include <cstdint>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace virtsnap::meta {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kKi = 1024;

std::int64_t bytesOf(const std::string& text) {
  const QuantityResult result = Quantity::parse(text);
  EXPECT_TRUE(result.has_value()) << text << ": " << (result.has_value() ? "" : result.error().message);
  return result.has_value() ? result.value().bytes() : -1;
}

QuantityError errorOf(const std::string& text) {
  const QuantityResult result = Quantity::parse(text);
  EXPECT_FALSE(result.has_value()) << text << " parsed as "
                                   << (result.has_value() ? result.value().bytes() : 0);
  return result.has_value() ? QuantityError{} : result.error();
}

TEST(QuantityParse, PlainIntegers) {
  EXPECT_EQ(bytesOf("0"), 0);
  EXPECT_EQ(bytesOf("1"), 1);
  EXPECT_EQ(bytesOf("536870912"), 536870912);
  EXPECT_EQ(bytesOf("+42"), 42);
  EXPECT_EQ(bytesOf("007"), 7);
  EXPECT_EQ(bytesOf("9223372036854775807"), INT64_MAX);
}

TEST(QuantityParse, BinarySuffixes) {
  EXPECT_EQ(bytesOf("1Ki"), kKi);
  EXPECT_EQ(bytesOf("512Mi"), 512 * kKi * kKi);
  EXPECT_EQ(bytesOf("2Gi"), 2 * kKi * kKi * kKi);
  EXPECT_EQ(bytesOf("3Ti"), 3 * (std::int64_t{1} << 40));
  EXPECT_EQ(bytesOf("5Pi"), 5 * (std::int64_t{1} << 50));
  EXPECT_EQ(bytesOf("7Ei"), 7 * (std::int64_t{1} << 60));
}

TEST(QuantityParse, DecimalSuffixes) {
  EXPECT_EQ(bytesOf("1k"), 1000);
  EXPECT_EQ(bytesOf("10M"), 10'000'000);
  EXPECT_EQ(bytesOf("4G"), 4'000'000'000);
  EXPECT_EQ(bytesOf("2T"), 2'000'000'000'000);
  EXPECT_EQ(bytesOf("3P"), 3'000'000'000'000'000);
  EXPECT_EQ(bytesOf("9E"), 9'000'000'000'000'000'000);
}

TEST(QuantityParse, SubUnitSuffixesRoundUpToWholeBytes) {
  EXPECT_EQ(bytesOf("1500m"), 2);  // 1.5 bytes -> 2, as resource.Quantity.value() does
  EXPECT_EQ(bytesOf("2000m"), 2);
  EXPECT_EQ(bytesOf("1m"), 1);
  EXPECT_EQ(bytesOf("1u"), 1);
  EXPECT_EQ(bytesOf("1n"), 1);
  EXPECT_EQ(bytesOf("0m"), 0);
}

TEST(QuantityParse, Decimals) {
  EXPECT_EQ(bytesOf("1.5Gi"), 3 * (std::int64_t{1} << 29));
  EXPECT_EQ(bytesOf("0.5Ki"), 512);
  EXPECT_EQ(bytesOf(".5Ki"), 512);
  EXPECT_EQ(bytesOf("1."), 1);
  EXPECT_EQ(bytesOf("2.50M"), 2'500'000);
  EXPECT_EQ(bytesOf("1.1"), 2);
  EXPECT_EQ(bytesOf("0.000000000000000000000001Ei"), 1);  // tiny but positive rounds up
  EXPECT_EQ(bytesOf("0.000001Ti"), 1'099'512);            // 1099511.627776 rounded up
}

TEST(QuantityParse, Exponents) {
  EXPECT_EQ(bytesOf("1e3"), 1000);
  EXPECT_EQ(bytesOf("1E3"), 1000);
  EXPECT_EQ(bytesOf("12e+6"), 12'000'000);
  EXPECT_EQ(bytesOf("1.5e9"), 1'500'000'000);
  EXPECT_EQ(bytesOf("5e-1"), 1);
  EXPECT_EQ(bytesOf("1e-400"), 1);
  EXPECT_EQ(bytesOf("1E"), 1'000'000'000'000'000'000);  // bare E is exa, not an exponent
}

TEST(QuantityParse, KeepsTheOriginalText) {
  const QuantityResult result = Quantity::parse("1.50Gi");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result.value().text(), "1.50Gi");
  EXPECT_FALSE(result.value().isJsonNumber());
}

TEST(QuantityParse, EmptyIsAnError) {
  const QuantityError error = errorOf("");
  EXPECT_EQ(error.kind, QuantityErrorKind::Empty);
  EXPECT_THAT(error.message, HasSubstr("empty"));
}

TEST(QuantityParse, GarbageIsASyntaxErrorNamingTheProblem) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : {
           Case{"abc", "\"abc\": expected a number at position 0"},
           Case{"Gi", "expected a number at position 0"},
           Case{".", "expected a number at position 1"},
           Case{"+", "expected a number at position 1"},
           Case{"12Gx", "unknown suffix \"Gx\" at position 2"},
           Case{"12gi", "unknown suffix \"gi\""},
           Case{"12 Gi", "unknown suffix \" Gi\""},
           Case{" 12", "expected a number at position 0"},
           Case{"1.2.3", "unknown suffix \".3\""},
           Case{"1KiB", "unknown suffix \"KiB\""},
           Case{"1e", "unknown suffix \"e\""},
           Case{"1e+", "unknown suffix \"e+\""},
           Case{"1e3x", "unknown suffix \"e3x\""},
           Case{"1Mi ", "unknown suffix \"Mi \""},
           Case{"0x10", "unknown suffix \"x10\""},
       }) {
    const QuantityError error = errorOf(c.text);
    EXPECT_EQ(error.kind, QuantityErrorKind::Syntax) << c.text;
    EXPECT_THAT(error.message, HasSubstr(c.message)) << c.text;
  }
}

TEST(QuantityParse, NegativeIsAnError) {
  for (const std::string text : {"-1", "-512Mi", "-0.5Gi", "-1e3"}) {
    const QuantityError error = errorOf(text);
    EXPECT_EQ(error.kind, QuantityErrorKind::Negative) << text;
    EXPECT_THAT(error.message, HasSubstr("cannot be negative")) << text;
  }
  EXPECT_EQ(bytesOf("-0"), 0);  // negative zero is zero, as in Kubernetes
}

TEST(QuantityParse, OverflowIsAnError) {
  for (const std::string text : {"9223372036854775808", "8Ei", "10E", "1e19", "16777216Ti", "1e1000000"}) {
    const QuantityError error = errorOf(text);
    EXPECT_EQ(error.kind, QuantityErrorKind::Overflow) << text;
    EXPECT_THAT(error.message, HasSubstr("more than 2^63-1 bytes")) << text;
  }
}

TEST(QuantityParse, TooManySignificantDigitsIsAnError) {
  const QuantityError error = errorOf("1.0000000000000000001");
  EXPECT_EQ(error.kind, QuantityErrorKind::Precision);
  EXPECT_THAT(error.message, HasSubstr("significant digits"));
  EXPECT_EQ(bytesOf("1.000000000000000000000"), 1);  // trailing zeros are not precision
}

TEST(QuantityJson, IntegersAndStringsAreAccepted) {
  const QuantityResult number = quantityFromJson(nlohmann::json(1024));
  ASSERT_TRUE(number.has_value());
  EXPECT_EQ(number.value().bytes(), 1024);
  EXPECT_TRUE(number.value().isJsonNumber());
  EXPECT_EQ(nlohmann::json(number.value()), nlohmann::json(1024));

  const QuantityResult text = quantityFromJson(nlohmann::json("1Ki"));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text.value().bytes(), 1024);
  EXPECT_EQ(nlohmann::json(text.value()), nlohmann::json("1Ki"));
  EXPECT_FALSE(number.value() == text.value());  // same size, different spelling
}

TEST(QuantityJson, OtherJsonTypesAreErrors) {
  for (const nlohmann::json& value : {nlohmann::json(1.5), nlohmann::json(true), nlohmann::json::array()}) {
    const QuantityResult result = quantityFromJson(value);
    ASSERT_FALSE(result.has_value()) << value;
    EXPECT_EQ(result.error().kind, QuantityErrorKind::Syntax);
    EXPECT_THAT(result.error().message, HasSubstr("must be an integer or a string"));
  }
  EXPECT_EQ(quantityFromJson(nlohmann::json(-5)).error().kind, QuantityErrorKind::Negative);
  EXPECT_EQ(quantityFromJson(nlohmann::json(UINT64_MAX)).error().kind, QuantityErrorKind::Overflow);
}

TEST(QuantityFromBytes, UsesTheLargestExactBinarySuffix) {
  EXPECT_EQ(Quantity::fromBytes(536870912).text(), "512Mi");
  EXPECT_EQ(Quantity::fromBytes(3 * (std::int64_t{1} << 29)).text(), "1536Mi");
  EXPECT_EQ(Quantity::fromBytes(1000).text(), "1000");
  EXPECT_EQ(Quantity::fromBytes(0).text(), "0");
  EXPECT_EQ(Quantity::parse(Quantity::fromBytes(12345 * kKi).text()).value().bytes(), 12345 * kKi);
}

}  // namespace
}  // namespace virtsnap::meta
