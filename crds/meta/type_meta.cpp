#include "crds/meta/type_meta.h"

namespace virtsnap::meta {

TypeMeta decodeTypeMeta(const ObjectReader& reader, std::string_view expectedApiVersion,
                        std::string_view expectedKind) {
  TypeMeta typeMeta{reader.optionalString("apiVersion").value_or(std::string(expectedApiVersion)),
                    reader.optionalString("kind").value_or(std::string(expectedKind))};
  if (typeMeta.apiVersion != expectedApiVersion) {
    reader.fail("apiVersion",
                "must be \"" + std::string(expectedApiVersion) + "\", got \"" + typeMeta.apiVersion + "\"");
  }
  if (typeMeta.kind != expectedKind) {
    reader.fail("kind", "must be \"" + std::string(expectedKind) + "\", got \"" + typeMeta.kind + "\"");
  }
  return typeMeta;
}

void putTypeMeta(nlohmann::json& json, const TypeMeta& typeMeta) {
  json["apiVersion"] = typeMeta.apiVersion;
  json["kind"] = typeMeta.kind;
}

}  // namespace virtsnap::meta
