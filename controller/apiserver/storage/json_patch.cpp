#include "controller/apiserver/storage/json_patch.h"

#include <cctype>
#include <optional>
#include <vector>

namespace virtsnap::apiserver {

namespace {

// An RFC 6901 pointer split into unescaped tokens; nullopt when malformed.
std::optional<std::vector<std::string>> splitPointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer[0] != '/') {
    return std::nullopt;
  }
  std::size_t start = 1;
  while (true) {
    std::size_t slash = pointer.find('/', start);
    std::string raw = pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(token);
    if (slash == std::string::npos) {
      return tokens;
    }
    start = slash + 1;
  }
}

std::optional<std::size_t> arrayIndex(const std::string& token, std::size_t size, bool allowEnd) {
  if (allowEnd && token == "-") {
    return size;
  }
  if (token.empty() || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  std::size_t index = 0;
  for (char c : token) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0 || index > 100000000) {
      return std::nullopt;
    }
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  if (index > size || (!allowEnd && index == size)) {
    return std::nullopt;
  }
  return index;
}

// The container that holds the last token of `tokens`, or nullptr.
nlohmann::json* parentOf(nlohmann::json& document, const std::vector<std::string>& tokens) {
  nlohmann::json* node = &document;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (node->is_object()) {
      auto it = node->find(tokens[i]);
      if (it == node->end()) {
        return nullptr;
      }
      node = &*it;
    } else if (node->is_array()) {
      auto index = arrayIndex(tokens[i], node->size(), false);
      if (!index) {
        return nullptr;
      }
      node = &(*node)[*index];
    } else {
      return nullptr;
    }
  }
  return node;
}

nlohmann::json* find(nlohmann::json& document, const std::vector<std::string>& tokens) {
  if (tokens.empty()) {
    return &document;
  }
  nlohmann::json* parent = parentOf(document, tokens);
  if (parent == nullptr) {
    return nullptr;
  }
  if (parent->is_object()) {
    auto it = parent->find(tokens.back());
    return it == parent->end() ? nullptr : &*it;
  }
  if (parent->is_array()) {
    auto index = arrayIndex(tokens.back(), parent->size(), false);
    return index ? &(*parent)[*index] : nullptr;
  }
  return nullptr;
}

std::string missing(const std::string& op, const std::string& path) {
  return op + " operation does not apply: doc is missing path: \"" + path + "\": missing value";
}

bool add(nlohmann::json& document, const std::vector<std::string>& tokens, nlohmann::json value) {
  if (tokens.empty()) {
    document = std::move(value);
    return true;
  }
  nlohmann::json* parent = parentOf(document, tokens);
  if (parent == nullptr) {
    return false;
  }
  if (parent->is_object()) {
    (*parent)[tokens.back()] = std::move(value);
    return true;
  }
  if (parent->is_array()) {
    auto index = arrayIndex(tokens.back(), parent->size(), true);
    if (!index) {
      return false;
    }
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return true;
  }
  return false;
}

std::optional<nlohmann::json> remove(nlohmann::json& document, const std::vector<std::string>& tokens) {
  if (tokens.empty()) {
    return std::nullopt;
  }
  nlohmann::json* parent = parentOf(document, tokens);
  if (parent == nullptr) {
    return std::nullopt;
  }
  if (parent->is_object()) {
    auto it = parent->find(tokens.back());
    if (it == parent->end()) {
      return std::nullopt;
    }
    nlohmann::json value = std::move(*it);
    parent->erase(it);
    return value;
  }
  if (parent->is_array()) {
    auto index = arrayIndex(tokens.back(), parent->size(), false);
    if (!index) {
      return std::nullopt;
    }
    nlohmann::json value = std::move((*parent)[*index]);
    parent->erase(parent->begin() + static_cast<std::ptrdiff_t>(*index));
    return value;
  }
  return std::nullopt;
}

}  // namespace

Expected<nlohmann::json, PatchError> applyJsonPatch(const nlohmann::json& document,
                                                    const nlohmann::json& patch) {
  if (!patch.is_array()) {
    return PatchError{true, "json: cannot unmarshal " + std::string(patch.type_name()) +
                                " into Go value of type jsonpatch.Patch"};
  }
  nlohmann::json result = document;
  for (const nlohmann::json& operation : patch) {
    if (!operation.is_object()) {
      return PatchError{true, "json: cannot unmarshal " + std::string(operation.type_name()) +
                                  " into Go value of type jsonpatch.Operation"};
    }
    std::string op = operation.value("op", "");
    if (!operation.contains("path") || !operation["path"].is_string()) {
      return PatchError{false, "operation missing path field: missing value"};
    }
    std::string path = operation["path"].get<std::string>();
    auto tokens = splitPointer(path);
    if (!tokens) {
      return PatchError{false, "invalid path: \"" + path + "\""};
    }
    auto from = [&]() -> std::optional<std::vector<std::string>> {
      if (!operation.contains("from") || !operation["from"].is_string()) {
        return std::nullopt;
      }
      return splitPointer(operation["from"].get<std::string>());
    };
    if (op == "add" || op == "replace" || op == "test") {
      if (!operation.contains("value")) {
        return PatchError{false, op + " operation does not apply: value is missing: missing value"};
      }
    }
    if (op == "add") {
      if (!add(result, *tokens, operation["value"])) {
        return PatchError{false, missing("add", path)};
      }
    } else if (op == "remove") {
      if (!remove(result, *tokens)) {
        return PatchError{false, missing("remove", path)};
      }
    } else if (op == "replace") {
      nlohmann::json* target = find(result, *tokens);
      if (target == nullptr) {
        return PatchError{
            false, "replace operation does not apply: doc is missing key: " + path + ": missing value"};
      }
      *target = operation["value"];
    } else if (op == "move" || op == "copy") {
      auto source = from();
      if (!source) {
        return PatchError{false, op + " operation does not apply: missing from field: missing value"};
      }
      std::optional<nlohmann::json> value;
      if (op == "move") {
        value = remove(result, *source);
      } else if (nlohmann::json* found = find(result, *source)) {
        value = *found;
      }
      if (!value) {
        return PatchError{false, missing(op + " (from)", operation["from"].get<std::string>())};
      }
      if (!add(result, *tokens, std::move(*value))) {
        return PatchError{false, missing(op, path)};
      }
    } else if (op == "test") {
      if (!tokens->empty()) {
        // A missing parent is an error even when the value is null (null only matches a missing key).
        const nlohmann::json* parent = parentOf(result, *tokens);
        if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
          return PatchError{false,
                            "test operation does not apply: is missing path: " + path + ": missing value"};
        }
      }
      nlohmann::json* target = find(result, *tokens);
      bool equal = target != nullptr ? *target == operation["value"] : operation["value"].is_null();
      if (!equal) {
        return PatchError{false, "testing value " + path + " failed: test failed"};
      }
    } else {
      return PatchError{false, "Unexpected kind: " + op};
    }
  }
  return result;
}

nlohmann::json applyMergePatch(const nlohmann::json& document, const nlohmann::json& patch) {
  nlohmann::json result = document;
  result.merge_patch(patch);
  return result;
}

}  // namespace virtsnap::apiserver
