#include "crds/type_meta.h"

#include "crds/api_names.h"

namespace virtsnap::crds {

TypeMeta decodeTypeMeta(const ObjectReader& reader, std::string_view expectedKind) {
  TypeMeta typeMeta{reader.optionalString("apiVersion").value_or(std::string(kApiVersion)),
                    reader.optionalString("kind").value_or(std::string(expectedKind))};
  if (typeMeta.apiVersion != kApiVersion) {
    reader.fail("apiVersion",
                "must be \"" + std::string(kApiVersion) + "\", got \"" + typeMeta.apiVersion + "\"");
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

}  // namespace virtsnap::crds
