#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace virtsnap::crds {

// A value or an error, for failures that are part of normal operation (bad input), never both.
// C++20 has no std::expected; this is the small subset the API layer needs. Accessing the wrong
// alternative is a broken invariant and asserts.
template <typename T, typename E>
class Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(E error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit on purpose

  bool Ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return Ok(); }

  const T& Value() const& {
    assert(Ok());
    return std::get<0>(storage_);
  }
  T& Value() & {
    assert(Ok());
    return std::get<0>(storage_);
  }
  T&& Value() && {
    assert(Ok());
    return std::get<0>(std::move(storage_));
  }
  const E& Error() const {
    assert(!Ok());
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, E> storage_;
};

}  // namespace virtsnap::crds
