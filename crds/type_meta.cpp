#include "crds/type_meta.h"

#include "crds/api_names.h"

namespace virtsnap::crds {

TypeMeta DecodeTypeMeta(const ObjectReader& reader, std::string_view expected_kind) {
  TypeMeta type_meta{reader.OptionalString("apiVersion").value_or(std::string(kApiVersion)),
                     reader.OptionalString("kind").value_or(std::string(expected_kind))};
  if (type_meta.api_version != kApiVersion) {
    reader.Fail("apiVersion",
                "must be \"" + std::string(kApiVersion) + "\", got \"" + type_meta.api_version + "\"");
  }
  if (type_meta.kind != expected_kind) {
    reader.Fail("kind", "must be \"" + std::string(expected_kind) + "\", got \"" + type_meta.kind + "\"");
  }
  return type_meta;
}

void PutTypeMeta(nlohmann::json& json, const TypeMeta& type_meta) {
  json["apiVersion"] = type_meta.api_version;
  json["kind"] = type_meta.kind;
}

}  // namespace virtsnap::crds
