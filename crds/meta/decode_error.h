#pragma once

#include <ostream>
#include <stdexcept>
#include <string>

#include "base/expected.h"

namespace virtsnap::meta {

// Why a JSON document is not a valid object of our API: the field (a path such as
// "spec.disks[1].create.size"; empty for the document itself) and what is wrong with it.
struct DecodeError {
  std::string path;
  std::string message;

  // "spec.disks[1].create.size: ..." — the form for logs, conditions and Events.
  std::string toString() const;
  friend bool operator==(const DecodeError&, const DecodeError&) = default;
  friend std::ostream& operator<<(std::ostream& out, const DecodeError& error) {
    return out << error.toString();
  }
};

template <typename T>
using DecodeResult = Expected<T, DecodeError>;

// Thrown inside the decoders and by from_json (so that `json.get<Domain>()` works); the decode*
// functions catch it and return a DecodeError instead, so callers never see an exception.
class DecodeException : public std::runtime_error {
 public:
  explicit DecodeException(DecodeError error);
  const DecodeError& error() const { return error_; }

 private:
  DecodeError error_;
};

}  // namespace virtsnap::meta
