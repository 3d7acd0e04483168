#pragma once
// UTF-8 well-formedness, which every decoder of outside text checks before it trusts a byte string as
// text (JSON cannot carry anything else).

#include <string_view>

namespace virtsnap {

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool isValidUtf8(std::string_view text);

}  // namespace virtsnap
