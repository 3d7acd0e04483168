#include "crds/meta/base64.h"

#include <cstdint>

namespace virtsnap::meta {

namespace {

constexpr std::string_view kStandard = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The 6-bit value of `c` in either alphabet, or -1.
int sextet(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

}  // namespace

std::string base64Encode(std::string_view bytes, Base64Alphabet alphabet) {
  const std::string_view symbols = alphabet == Base64Alphabet::Standard ? kStandard : kUrl;
  std::string out;
  out.reserve(4 * ((bytes.size() + 2) / 3));
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += symbols[(buffer >> bits) & 0x3Fu];
    }
  }
  if (bits > 0) {
    out += symbols[(buffer << (6 - bits)) & 0x3Fu];
  }
  if (alphabet == Base64Alphabet::Standard) {
    out.append((4 - out.size() % 4) % 4, '=');
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (const char c : text) {
    if (isSpace(c)) {
      continue;
    }
    if (c == '=') {
      padding = true;
      continue;
    }
    const int value = sextet(c);
    if (value < 0 || padding) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFu);
    }
  }
  return out;
}

}  // namespace virtsnap::meta
