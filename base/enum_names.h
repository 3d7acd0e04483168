#pragma once
// The wire names of an API enum. Each enum declares, next to its definition,
//   constexpr std::array<std::pair<E, std::string_view>, N> wireNames(E) { return {{...}}; }
// listing every enumerator once (found by argument-dependent lookup); the codecs and the schema
// drift test both read that table.

#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace virtsnap {

template <typename E>
concept NamedEnum = std::is_enum_v<E> && requires(E value) {
  wireNames(value);
};

// The wire name of `value`. Every enumerator is in its table, so this never fails.
template <NamedEnum E>
std::string_view enumName(E value) {
  for (const auto& [candidate, name] : wireNames(E{})) {
    if (candidate == value) {
      return name;
    }
  }
  return {};
}

// The enumerator called `name` (case-sensitive, as Kubernetes enums are), if any.
template <NamedEnum E>
std::optional<E> parseEnum(std::string_view name) {
  for (const auto& [value, candidate] : wireNames(E{})) {
    if (candidate == name) {
      return value;
    }
  }
  return std::nullopt;
}

// All wire names, in declaration order.
template <NamedEnum E>
std::vector<std::string_view> enumWireNames() {
  std::vector<std::string_view> names;
  for (const auto& entry : wireNames(E{})) {
    names.push_back(entry.second);
  }
  return names;
}

}  // namespace virtsnap
