#include "crds/meta/quantity.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace virtsnap::meta {
namespace {

// Exact intermediate arithmetic: at most 19 significant digits (< 2^64) times 2^60 fits.
__extension__ typedef unsigned __int128 Uint128;

constexpr std::size_t kMaxSignificantDigits = 19;
constexpr std::int64_t kMaxBytes = std::numeric_limits<std::int64_t>::max();
// Exponents beyond this cannot produce a representable, non-zero size; clamping keeps the
// arithmetic below in range.
constexpr int kExponentClamp = 1000;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// The scale a suffix applies: value * 2^binaryShift * 10^decimalExponent.
struct Scale {
  int binaryShift = 0;
  int decimalExponent = 0;
};

struct Suffix {
  std::string_view text;
  Scale scale;
};

constexpr std::array<Suffix, 15> kSuffixes{{
    {"Ki", {10, 0}},
    {"Mi", {20, 0}},
    {"Gi", {30, 0}},
    {"Ti", {40, 0}},
    {"Pi", {50, 0}},
    {"Ei", {60, 0}},
    {"n", {0, -9}},
    {"u", {0, -6}},
    {"m", {0, -3}},
    {"k", {0, 3}},
    {"M", {0, 6}},
    {"G", {0, 9}},
    {"T", {0, 12}},
    {"P", {0, 15}},
    {"E", {0, 18}},
}};

// The pieces of a quantity's text, before any arithmetic.
struct Tokens {
  bool negative = false;
  std::string digits;      // integer and fraction digits, without the point
  int fractionDigits = 0;  // how many of `digits` follow the point
  Scale scale;
};

QuantityError error(QuantityErrorKind kind, std::string_view text, std::string_view what) {
  return {kind, "invalid quantity \"" + std::string(text) + "\": " + std::string(what)};
}

// Splits `text` into sign, number and suffix, or says where it stops making sense.
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  Expected<Tokens, QuantityError> run() {
    Tokens tokens;
    if (peek() == '+' || peek() == '-') {
      tokens.negative = peek() == '-';
      ++pos_;
    }
    while (isDigit(peek())) {
      tokens.digits.push_back(text_[pos_++]);
    }
    if (peek() == '.') {
      ++pos_;
      while (isDigit(peek())) {
        tokens.digits.push_back(text_[pos_++]);
        ++tokens.fractionDigits;
      }
    }
    if (tokens.digits.empty()) {
      return fail("expected a number");
    }
    std::optional<Scale> scale = readSuffix();
    if (!scale) {
      return fail("unknown suffix \"" + std::string(text_.substr(suffixStart_)) + "\"",
                  " (expected Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent such as e6)");
    }
    tokens.scale = *scale;
    return tokens;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  QuantityError fail(const std::string& what, const std::string& hint = "") const {
    return error(QuantityErrorKind::Syntax, text_, what + " at position " + std::to_string(pos_) + hint);
  }

  // Everything after the number must be exactly one suffix.
  std::optional<Scale> readSuffix() {
    suffixStart_ = pos_;
    const std::string_view rest = text_.substr(pos_);
    if (rest.empty()) {
      return Scale{};
    }
    // "E" alone is exa; "E" or "e" followed by a signed integer is an exponent.
    if ((rest[0] == 'e' || rest[0] == 'E') && rest.size() > 1 && rest[1] != 'i') {
      return readExponent(rest.substr(1));
    }
    for (const Suffix& suffix : kSuffixes) {
      if (rest == suffix.text) {
        pos_ = text_.size();
        return suffix.scale;
      }
    }
    return std::nullopt;
  }

  std::optional<Scale> readExponent(std::string_view exponent) {
    std::size_t i = 0;
    int sign = 1;
    if (exponent[0] == '+' || exponent[0] == '-') {
      sign = exponent[0] == '-' ? -1 : 1;
      ++i;
    }
    if (i == exponent.size()) {
      return std::nullopt;
    }
    int value = 0;
    for (; i < exponent.size(); ++i) {
      if (!isDigit(exponent[i])) {
        return std::nullopt;
      }
      value = std::min(kExponentClamp, value * 10 + (exponent[i] - '0'));
    }
    pos_ = text_.size();
    return Scale{0, sign * value};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t suffixStart_ = 0;
};

// value = digits * 10^-fractionDigits * 2^binaryShift * 10^decimalExponent, rounded up.
Expected<std::int64_t, QuantityError> toBytes(std::string_view text, Tokens tokens) {
  // Trailing zeros of the fraction and leading zeros do not count as precision.
  while (tokens.fractionDigits > 0 && tokens.digits.back() == '0') {
    tokens.digits.pop_back();
    --tokens.fractionDigits;
  }
  const std::size_t first = tokens.digits.find_first_not_of('0');
  if (first == std::string::npos) {
    return std::int64_t{0};  // zero with any sign and suffix
  }
  if (tokens.negative) {
    return error(QuantityErrorKind::Negative, text, "a size cannot be negative");
  }
  const std::string_view significant = std::string_view(tokens.digits).substr(first);
  if (significant.size() > kMaxSignificantDigits) {
    // Digits before the point after scaling: 20 or more means at least 10^19 > 2^63-1.
    const long magnitude =
        static_cast<long>(significant.size()) - tokens.fractionDigits + tokens.scale.decimalExponent;
    if (magnitude > static_cast<long>(kMaxSignificantDigits)) {
      return error(QuantityErrorKind::Overflow, text, "more than 2^63-1 bytes");
    }
    return error(QuantityErrorKind::Precision, text,
                 "more than " + std::to_string(kMaxSignificantDigits) + " significant digits");
  }
  Uint128 value = 0;
  for (char c : significant) {
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  value <<= tokens.scale.binaryShift;
  const QuantityError overflow = error(QuantityErrorKind::Overflow, text, "more than 2^63-1 bytes");
  const int exponent = tokens.scale.decimalExponent - tokens.fractionDigits;
  if (exponent >= 0) {
    for (int i = 0; i < exponent; ++i) {
      value *= 10;
      if (value > static_cast<Uint128>(kMaxBytes)) {
        return overflow;
      }
    }
  } else if (-exponent > 38) {
    value = 1;  // value < 2^124 < 10^38, so the quotient is a positive fraction: round up to 1
  } else {
    Uint128 divisor = 1;
    for (int i = 0; i < -exponent; ++i) {
      divisor *= 10;
    }
    value = value / divisor + (value % divisor != 0 ? 1 : 0);
  }
  if (value > static_cast<Uint128>(kMaxBytes)) {
    return overflow;
  }
  return static_cast<std::int64_t>(value);
}

}  // namespace

Quantity::Quantity() : text_("0") {}

Quantity::Quantity(std::string text, std::int64_t bytes, bool jsonNumber)
    : text_(std::move(text)), bytes_(bytes), jsonNumber_(jsonNumber) {}

QuantityResult Quantity::parse(std::string_view text) {
  if (text.empty()) {
    return QuantityError{QuantityErrorKind::Empty, "invalid quantity: empty"};
  }
  Expected<Tokens, QuantityError> tokens = Tokenizer(text).run();
  if (!tokens) {
    return tokens.error();
  }
  Expected<std::int64_t, QuantityError> bytes = toBytes(text, std::move(tokens).value());
  if (!bytes) {
    return bytes.error();
  }
  return Quantity(std::string(text), bytes.value(), /*json_number=*/false);
}

QuantityResult Quantity::fromJsonInteger(std::int64_t value) {
  if (value < 0) {
    return QuantityError{QuantityErrorKind::Negative,
                         "invalid quantity " + std::to_string(value) + ": a size cannot be negative"};
  }
  return Quantity(std::to_string(value), value, /*json_number=*/true);
}

Quantity Quantity::fromBytes(std::int64_t bytes) {
  static constexpr std::array<std::pair<int, std::string_view>, 6> kBinary{
      {{60, "Ei"}, {50, "Pi"}, {40, "Ti"}, {30, "Gi"}, {20, "Mi"}, {10, "Ki"}}};
  if (bytes > 0) {
    for (const auto& [shift, suffix] : kBinary) {
      const std::int64_t unit = std::int64_t{1} << shift;
      if (bytes % unit == 0) {
        return Quantity(std::to_string(bytes / unit) + std::string(suffix), bytes, /*json_number=*/false);
      }
    }
  }
  return Quantity(std::to_string(bytes), bytes, /*json_number=*/false);
}

void to_json(nlohmann::json& json, const Quantity& quantity) {
  if (quantity.isJsonNumber()) {
    json = quantity.bytes();
  } else {
    json = quantity.text();
  }
}

QuantityResult quantityFromJson(const nlohmann::json& json) {
  if (json.is_string()) {
    return Quantity::parse(json.get_ref<const std::string&>());
  }
  if (json.is_number_unsigned() && json.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxBytes)) {
    return QuantityError{QuantityErrorKind::Overflow,
                         "invalid quantity " + json.dump() + ": more than 2^63-1 bytes"};
  }
  if (json.is_number_integer()) {
    return Quantity::fromJsonInteger(json.get<std::int64_t>());
  }
  return QuantityError{QuantityErrorKind::Syntax,
                       "a quantity must be an integer or a string such as \"512Mi\", got " +
                           std::string(json.type_name()) +
                           (json.is_number() ? " " + json.dump() : std::string())};
}

}  // namespace virtsnap::meta
