#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace virtsnap::crds {

// The wire names of an API enum. Each enum specializes this next to its definition with
//   static constexpr std::array<std::pair<E, std::string_view>, N> kNames{...};
// listing every enumerator once; the codecs and the schema drift test both read that table.
template <typename E>
struct EnumNames;

template <typename E>
concept NamedEnum = requires {
  EnumNames<E>::kNames;
};

// The wire name of `value`. Every enumerator is in its table, so this never fails.
template <NamedEnum E>
std::string_view EnumName(E value) {
  for (const auto& [candidate, name] : EnumNames<E>::kNames) {
    if (candidate == value) {
      return name;
    }
  }
  return {};
}

// The enumerator called `name` (case-sensitive, as Kubernetes enums are), if any.
template <NamedEnum E>
std::optional<E> ParseEnum(std::string_view name) {
  for (const auto& [value, candidate] : EnumNames<E>::kNames) {
    if (candidate == name) {
      return value;
    }
  }
  return std::nullopt;
}

// All wire names, in declaration order.
template <NamedEnum E>
std::vector<std::string_view> EnumWireNames() {
  std::vector<std::string_view> names;
  for (const auto& entry : EnumNames<E>::kNames) {
    names.push_back(entry.second);
  }
  return names;
}

}  // namespace virtsnap::crds
