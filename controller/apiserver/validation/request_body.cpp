#include "controller/apiserver/validation/request_body.h"

namespace virtsnap::apiserver {

bool jsonNestingExceeds(std::string_view text, int limit) {
  int depth = 0;
  bool inString = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) {
        return true;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Expected<nlohmann::json, std::string> decodeJsonBody(std::string_view text) {
  if (jsonNestingExceeds(text, kMaxNestingDepth)) {
    return std::string("the request body nests arrays and objects deeper than " +
                       std::to_string(kMaxNestingDepth) + " levels");
  }
  try {
    // nlohmann's parser also refuses invalid UTF-8 in strings.
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return std::string("the request body is not valid JSON: ") + e.what();
  }
}

}  // namespace virtsnap::apiserver
