#include "crds/meta/decode_error.h"

#include <utility>

namespace virtsnap::meta {

std::string DecodeError::toString() const {
  return path.empty() ? message : path + ": " + message;
}

DecodeException::DecodeException(DecodeError error)
    : std::runtime_error(error.toString()), error_(std::move(error)) {}

}  // namespace virtsnap::meta
