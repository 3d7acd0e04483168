// libFuzzer target: the API server's protobuf decoder (request bodies from any client of the embedded
// API server). Any input must decode or give an error value; a decoded object is always a Namespace.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "controller/apiserver/protobuf_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded =
      virtsnap::apiserver::protobufToJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded.has_value() && decoded.value().value("kind", "") != "Namespace") {
    __builtin_trap();
  }
  return 0;
}
