#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/expected.h"

namespace virtsnap::meta {

enum class QuantityErrorKind {
  Empty,      // ""
  Syntax,     // not <sign><digits>[.<digits>]<suffix>, an unknown suffix, or not an integer or string
  Negative,   // a size cannot be negative
  Overflow,   // more than 2^63-1 bytes
  Precision,  // more than 19 significant digits
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
// bytes() is exact arithmetic rounded up to a whole byte, as resource.Quantity.value() does.
// The original text (and whether it came as a JSON number) is kept, so the API round-trips.
class Quantity {
 public:
  // Zero bytes, written as "0".
  Quantity();

  static QuantityResult parse(std::string_view text);
  // A quantity that was a JSON integer (x-kubernetes-int-or-string); it encodes back as a number.
  static QuantityResult fromJsonInteger(std::int64_t value);
  // The canonical text for `bytes`: the largest binary suffix that divides it ("512Mi"), else
  // the plain number. `bytes` must not be negative.
  static Quantity fromBytes(std::int64_t bytes);

  std::int64_t bytes() const { return bytes_; }
  const std::string& text() const { return text_; }
  bool isJsonNumber() const { return jsonNumber_; }

  // Same text and representation; "1Gi" and "1073741824" are different quantities of equal size.
  friend bool operator==(const Quantity&, const Quantity&) = default;

 private:
  Quantity(std::string text, std::int64_t bytes, bool jsonNumber);

  std::string text_;
  std::int64_t bytes_ = 0;
  bool jsonNumber_ = false;
};

// The wire form (x-kubernetes-int-or-string): a JSON integer or a string, whichever it came as.
void to_json(nlohmann::json& json, const Quantity& quantity);
QuantityResult quantityFromJson(const nlohmann::json& json);

}  // namespace virtsnap::meta
