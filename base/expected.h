#pragma once
// A value or an error, for failures that are part of normal operation (bad input, refusals, a
// server's answer), never both. C++20 has no std::expected; this one has its member names
// (has_value, value, error, value_or, operator*, operator->), so moving to C++23 is a rename of the
// include. Expected<void, E> is success-or-error. Reading the wrong alternative is a broken invariant
// and asserts.
//
// One convenience std::expected does not have: an E converts implicitly to an error, so
// `return DecodeError{...};` works (T and E must therefore differ); `unexpected(e)` is there as well.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace virtsnap {

// The error alternative, spelled out (std::unexpected's counterpart).
template <typename E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <typename E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return Unexpected<std::decay_t<E>>(std::forward<E>(error));
}

template <typename T, typename E>
class Expected {
  static_assert(!std::is_same_v<std::decay_t<T>, std::decay_t<E>>,
                "Expected<T, E> needs distinct T and E (an E converts to the error)");

 public:
  using value_type = T;  // NOLINT(readability-identifier-naming): std::expected's name
  using error_type = E;  // NOLINT(readability-identifier-naming): std::expected's name

  Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Expected(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit on purpose
  template <typename G>
  Expected(Unexpected<G> error)  // NOLINT: implicit on purpose
      : state_(std::in_place_index<1>, E(std::move(error).error())) {}

  bool has_value() const { return state_.index() == 0; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return has_value(); }

  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {  // NOLINT(readability-identifier-naming): std::expected's name
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

  const E& error() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }
  E&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, E> state_;
};

// Success (default-constructed) or an error.
template <typename E>
class Expected<void, E> {
 public:
  using value_type = void;  // NOLINT(readability-identifier-naming): std::expected's name
  using error_type = E;     // NOLINT(readability-identifier-naming): std::expected's name

  Expected() = default;
  Expected(E error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit on purpose
  template <typename G>
  Expected(Unexpected<G> error)  // NOLINT: implicit on purpose
      : error_(E(std::move(error).error())), failed_(true) {}

  bool has_value() const { return !failed_; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }

  const E& error() const& {
    assert(!has_value());
    return error_;
  }
  E&& error() && {
    assert(!has_value());
    return std::move(error_);
  }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace virtsnap
