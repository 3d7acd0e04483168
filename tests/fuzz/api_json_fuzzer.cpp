// libFuzzer target: the API's JSON decoders (every object the agent reads from the API server).
// Any input must decode or give an error value; a decoded object must encode and decode to itself.

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"

namespace {

template <typename Decode, typename Encode>
void roundTrip(const nlohmann::json& json, Decode decode, Encode encode) {
  auto decoded = decode(json, nullptr);
  if (!decoded.has_value()) {
    return;
  }
  auto again = decode(encode(decoded.value()), nullptr);
  if (!again.has_value() || !(again.value() == decoded.value())) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace virtsnap::crds;
  const auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return 0;
  }
  roundTrip(json, decodeDomain, encodeDomain);
  roundTrip(json, decodeSnapshot, encodeSnapshot);
  roundTrip(json, decodeSnapshotRevert, encodeSnapshotRevert);
  return 0;
}
