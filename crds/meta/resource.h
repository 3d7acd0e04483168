#pragma once
// How a kind registers itself with code that is generic over kinds (the typed client, informers): a
// specialisation of Resource<T> next to the kind's definition says where it lives in the API and how it
// is coded, so the runtime and the API server never name a product kind, group or prefix.
//
//   template <> struct meta::Resource<crds::Domain> {
//     static const ResourceType& type();
//     static DecodeResult<crds::Domain> decode(const nlohmann::json& document);
//     static nlohmann::json encode(const crds::Domain& object);
//   };

#include <concepts>

#include <nlohmann/json.hpp>

#include "crds/meta/resource_type.h"

namespace virtsnap::meta {

template <typename T>
struct Resource;

template <typename T>
concept RegisteredResource = requires(const T& object, const nlohmann::json& document) {
  { Resource<T>::type() } -> std::convertible_to<const ResourceType&>;
  { Resource<T>::encode(object) } -> std::convertible_to<nlohmann::json>;
  Resource<T>::decode(document).has_value();
};

}  // namespace virtsnap::meta
