#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "crds/meta/decode_error.h"
#include "crds/meta/object_reader.h"

namespace virtsnap::meta {

// apiVersion and kind of a top-level object. They are optional on input (a decoder may be handed
// an object whose type is known from the request) but must match when present, and are always
// written.
struct TypeMeta {
  std::string apiVersion;
  std::string kind;

  friend bool operator==(const TypeMeta&, const TypeMeta&) = default;
};

// Reads apiVersion and kind, defaulting absent ones to the expected ones (the kind's own); fails when
// either names another type.
TypeMeta decodeTypeMeta(const ObjectReader& reader, std::string_view expectedApiVersion,
                        std::string_view expectedKind);
void putTypeMeta(nlohmann::json& json, const TypeMeta& typeMeta);

// The decode boundary: runs `decode(const ObjectReader&)` on the document and returns its value,
// or the DecodeError of the first field that was wrong. Never throws for bad input.
template <typename Decode>
auto decodeDocument(const nlohmann::json& document, FieldPathLog* log, Decode decode)
    -> DecodeResult<std::invoke_result_t<Decode, const ObjectReader&>> {
  try {
    return decode(ObjectReader::root(document, log));
  } catch (const DecodeException& e) {
    return e.error();
  }
}

}  // namespace virtsnap::meta
