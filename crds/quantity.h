#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/expected.h"

namespace virtsnap::crds {

enum class QuantityErrorKind {
  kEmpty,      // ""
  kSyntax,     // not <sign><digits>[.<digits>]<suffix>, an unknown suffix, or not an integer or string
  kNegative,   // a size cannot be negative
  kOverflow,   // more than 2^63-1 bytes
  kPrecision,  // more than 19 significant digits
};

struct QuantityError {
  QuantityErrorKind kind;
  std::string message;  // names the input and, for syntax errors, the position
};

class Quantity;
using QuantityResult = Expected<Quantity, QuantityError>;

// A Kubernetes resource quantity used as a size in bytes ("512Mi", "1.5Gi", "10G", "1e9",
// 536870912). Parsing is a real tokenizer over Kubernetes' grammar:
//   quantity ::= [+-] (digits [. digits] | . digits) suffix
//   suffix   ::= "" | Ki Mi Gi Ti Pi Ei | n u m k M G T P E | (e|E) [+-] digits
// Bytes() is exact arithmetic rounded up to a whole byte, as resource.Quantity.value() does.
// The original text (and whether it came as a JSON number) is kept, so the API round-trips.
class Quantity {
 public:
  // Zero bytes, written as "0".
  Quantity();

  static QuantityResult Parse(std::string_view text);
  // A quantity that was a JSON integer (x-kubernetes-int-or-string); it encodes back as a number.
  static QuantityResult FromJsonInteger(std::int64_t value);
  // The canonical text for `bytes`: the largest binary suffix that divides it ("512Mi"), else
  // the plain number. `bytes` must not be negative.
  static Quantity FromBytes(std::int64_t bytes);

  std::int64_t Bytes() const { return bytes_; }
  const std::string& Text() const { return text_; }
  bool IsJsonNumber() const { return json_number_; }

  // Same text and representation; "1Gi" and "1073741824" are different quantities of equal size.
  friend bool operator==(const Quantity&, const Quantity&) = default;

 private:
  Quantity(std::string text, std::int64_t bytes, bool json_number);

  std::string text_;
  std::int64_t bytes_ = 0;
  bool json_number_ = false;
};

// The wire form (x-kubernetes-int-or-string): a JSON integer or a string, whichever it came as.
void to_json(nlohmann::json& json, const Quantity& quantity);
QuantityResult QuantityFromJson(const nlohmann::json& json);

}  // namespace virtsnap::crds
