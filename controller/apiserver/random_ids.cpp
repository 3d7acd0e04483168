#include "controller/apiserver/random_ids.h"

#include <array>
#include <cstdint>
#include <cstdlib>

#include <openssl/rand.h>

#include "base/logger.h"

namespace virtsnap::apiserver {

namespace {

template <std::size_t N>
std::array<unsigned char, N> randomBytes() {
  std::array<unsigned char, N> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // Only when the kernel has no entropy to give: an identity that might repeat is worse than stopping.
    logLine(LogLevel::Error, "apiserver", "OpenSSL's RAND_bytes failed: no random bytes for a UID");
    std::abort();
  }
  return bytes;
}

}  // namespace

std::string newUid() {
  auto bytes = randomBytes<16>();
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0Fu) | 0x40u);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3Fu) | 0x80u);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0Fu];
  }
  return out;
}

std::string randomNameSuffix() {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  constexpr unsigned kSize = sizeof kAlphabet - 1;
  constexpr unsigned kEvenLimit = 256 / kSize * kSize;  // bytes below it map evenly onto the alphabet
  std::string out;
  while (out.size() < 5) {
    for (unsigned char byte : randomBytes<8>()) {
      if (byte < kEvenLimit && out.size() < 5) {
        out += kAlphabet[byte % kSize];
      }
    }
  }
  return out;
}

}  // namespace virtsnap::apiserver
