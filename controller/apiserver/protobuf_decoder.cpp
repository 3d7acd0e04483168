#include "controller/apiserver/protobuf_decoder.h"

#include <cstdint>
#include <optional>

#include "base/utf8.h"
#include "controller/apiserver/validation/request_body.h"

namespace virtsnap::apiserver {

namespace {

constexpr std::string_view kMagic("k8s\0", 4);

// One field of a protobuf message: its number and, for the wire types used here, its payload.
struct Field {
  std::uint32_t number = 0;
  std::uint32_t wireType = 0;
  std::uint64_t varint = 0;  // wire type 0
  std::string_view bytes;    // wire type 2
};

// Reads a message field by field, refusing anything that runs past its end.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool done() const { return position_ == data_.size(); }

  Expected<Field, std::string> next() {
    auto key = varint();
    if (!key) {
      return std::string("truncated field key");
    }
    Field field;
    field.number = static_cast<std::uint32_t>(*key >> 3U);
    field.wireType = static_cast<std::uint32_t>(*key & 7U);
    if (field.number == 0) {
      return std::string("field number 0");
    }
    switch (field.wireType) {
      case 0: {
        auto value = varint();
        if (!value) {
          return std::string("truncated varint");
        }
        field.varint = *value;
        return field;
      }
      case 1:
        return skip(8, field);
      case 5:
        return skip(4, field);
      case 2: {
        auto length = varint();
        if (!length || *length > data_.size() - position_) {
          return std::string("a length-delimited field runs past the end of its message");
        }
        field.bytes = data_.substr(position_, static_cast<std::size_t>(*length));
        position_ += static_cast<std::size_t>(*length);
        return field;
      }
      default:
        return "unsupported wire type " + std::to_string(field.wireType);
    }
  }

 private:
  std::optional<std::uint64_t> varint() {
    std::uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (position_ >= data_.size()) {
        return std::nullopt;
      }
      const auto byte = static_cast<std::uint8_t>(data_[position_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7FU) << shift;
      if ((byte & 0x80U) == 0) {
        return value;
      }
    }
    return std::nullopt;  // more than 10 bytes: not a varint
  }

  Expected<Field, std::string> skip(std::size_t size, Field field) {
    if (size > data_.size() - position_) {
      return std::string("truncated fixed-size field");
    }
    position_ += size;
    return field;
  }

  std::string_view data_;
  std::size_t position_ = 0;
};

using Decoded = Expected<nlohmann::json, std::string>;

// A string field must be length-delimited and, as proto3 strings are, UTF-8 (else the JSON it
// becomes could not be written): its text, or nothing.
std::optional<std::string> text(const Field& field) {
  if (field.wireType != 2 || !isValidUtf8(field.bytes)) {
    return std::nullopt;
  }
  return std::string(field.bytes);
}

std::string notAString(const char* name) {
  return std::string(name) + " is not a string";
}

// A map<string,string> entry: key = 1, value = 2.
Expected<std::pair<std::string, std::string>, std::string> mapEntry(std::string_view entry) {
  WireReader reader(entry);
  std::pair<std::string, std::string> result;
  while (!reader.done()) {
    auto field = reader.next();
    if (!field) {
      return field.error();
    }
    if (field.value().number == 1 || field.value().number == 2) {
      auto value = text(field.value());
      if (!value) {
        return notAString("a map key or value");
      }
      (field.value().number == 1 ? result.first : result.second) = *value;
    }
  }
  return result;
}

// metav1.ObjectMeta: the fields a create can carry. Server-set fields (uid, resourceVersion, ...) are
// ignored here as they are in JSON creates.
Decoded objectMeta(std::string_view message) {
  nlohmann::json meta = nlohmann::json::object();
  WireReader reader(message);
  while (!reader.done()) {
    auto field = reader.next();
    if (!field) {
      return field.error();
    }
    const Field& f = field.value();
    switch (f.number) {
      case 1:
      case 2:
      case 3: {
        auto value = text(f);
        if (!value) {
          return notAString("metadata");
        }
        meta[f.number == 1 ? "name" : f.number == 2 ? "generateName" : "namespace"] = *value;
        break;
      }
      case 11:
      case 12: {
        if (f.wireType != 2) {
          return std::string("metadata labels and annotations are maps");
        }
        auto entry = mapEntry(f.bytes);
        if (!entry) {
          return entry.error();
        }
        meta[f.number == 11 ? "labels" : "annotations"][entry.value().first] = entry.value().second;
        break;
      }
      case 14: {
        auto value = text(f);
        if (!value) {
          return notAString("metadata.finalizers");
        }
        meta["finalizers"].push_back(*value);
        break;
      }
      default:
        break;
    }
  }
  return meta;
}

Decoded namespaceObject(std::string_view message) {
  nlohmann::json object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", nlohmann::json::object()}};
  WireReader reader(message);
  while (!reader.done()) {
    auto field = reader.next();
    if (!field) {
      return field.error();
    }
    const Field& f = field.value();
    if (f.number == 1 && f.wireType == 2) {
      auto meta = objectMeta(f.bytes);
      if (!meta) {
        return meta.error();
      }
      object["metadata"] = meta.value();
    } else if (f.number == 2 && f.wireType == 2) {
      WireReader spec(f.bytes);
      while (!spec.done()) {
        auto specField = spec.next();
        if (!specField) {
          return specField.error();
        }
        if (specField.value().number == 1) {
          auto value = text(specField.value());
          if (!value) {
            return notAString("spec.finalizers");
          }
          object["spec"]["finalizers"].push_back(*value);
        }
      }
    }
  }
  return object;
}

}  // namespace

Expected<nlohmann::json, std::string> protobufToJson(std::string_view body) {
  if (body.substr(0, kMagic.size()) != kMagic) {
    return std::string("a Kubernetes protobuf body starts with \"k8s\\0\"");
  }
  std::string apiVersion;
  std::string kind;
  std::string_view raw;
  bool hasRaw = false;
  WireReader envelope(body.substr(kMagic.size()));
  while (!envelope.done()) {
    auto field = envelope.next();
    if (!field) {
      return "malformed protobuf envelope: " + field.error();
    }
    const Field& f = field.value();
    if (f.number == 1 && f.wireType == 2) {
      WireReader typeMeta(f.bytes);
      while (!typeMeta.done()) {
        auto typeField = typeMeta.next();
        if (!typeField) {
          return "malformed protobuf typeMeta: " + typeField.error();
        }
        if (typeField.value().number == 1 || typeField.value().number == 2) {
          auto value = text(typeField.value());
          if (!value) {
            return notAString("typeMeta");
          }
          (typeField.value().number == 1 ? apiVersion : kind) = *value;
        }
      }
    } else if (f.number == 2 && f.wireType == 2) {
      raw = f.bytes;
      hasRaw = true;
    }
  }
  if (!hasRaw) {
    return std::string("malformed protobuf envelope: no object");
  }
  if (apiVersion != "v1" || kind != "Namespace") {
    return "this server decodes protobuf only for v1 Namespace, not " + apiVersion + " " + kind +
           "; send JSON or YAML (kubectl apply)";
  }
  auto decoded = namespaceObject(raw);
  if (!decoded) {
    return "malformed protobuf Namespace: " + decoded.error();
  }
  return decoded;
}

}  // namespace virtsnap::apiserver
