#pragma once
// What one request body may cost the server. kube-apiserver refuses bodies over 3 MiB (413), and its
// decoders refuse invalid UTF-8, absurd nesting and YAML alias expansion; every body this server
// decodes (JSON here, YAML through crds/meta/yaml_json.h, protobuf in protobuf_decoder.h) keeps to the same
// limits, so one request costs at most a small multiple of kMaxRequestBodyBytes in memory and a bounded
// stack.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/expected.h"

namespace virtsnap::apiserver {

// kube-apiserver's MaxRequestBodyBytes.
inline constexpr std::size_t kMaxRequestBodyBytes = 3 * 1024 * 1024;

// Arrays and objects nested deeper than this are refused. kube's Go decoders allow 10000 on stacks
// that grow; this server's processing (copies, comparisons, patches, serialisation) recurses on fixed
// thread stacks, and no manifest comes near a hundred.
inline constexpr int kMaxNestingDepth = 1000;

// Whether arrays and objects in the JSON `text` nest deeper than `limit` (brackets inside strings do
// not count). A linear scan, run before parsing so that depth costs nothing.
bool jsonNestingExceeds(std::string_view text, int limit);

// A JSON request body as a value; the error is the message for a 400 answer.
Expected<nlohmann::json, std::string> decodeJsonBody(std::string_view text);

}  // namespace virtsnap::apiserver
