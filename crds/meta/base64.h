#pragma once
// Base64 (RFC 4648) as Kubernetes uses it: padded standard base64 for []byte fields such as a
// kubeconfig's certificate-authority-data, unpadded URL-safe base64 for list continue tokens.

#include <optional>
#include <string>
#include <string_view>

namespace virtsnap::meta {

enum class Base64Alphabet {
  Standard,  // A-Z a-z 0-9 + /, padded with '='
  RawUrl,    // A-Z a-z 0-9 - _, no padding
};

std::string base64Encode(std::string_view bytes, Base64Alphabet alphabet = Base64Alphabet::Standard);

// Reads either alphabet, padded or not; whitespace is skipped (wrapped lines). nullopt for any other
// character, or anything after the padding.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace virtsnap::meta
