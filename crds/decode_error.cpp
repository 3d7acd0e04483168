#include "crds/decode_error.h"

#include <utility>

namespace virtsnap::crds {

std::string DecodeError::ToString() const {
  return path.empty() ? message : path + ": " + message;
}

DecodeException::DecodeException(DecodeError error)
    : std::runtime_error(error.ToString()), error_(std::move(error)) {}

}  // namespace virtsnap::crds
