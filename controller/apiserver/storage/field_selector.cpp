#include "controller/apiserver/storage/field_selector.h"

#include <algorithm>

namespace virtsnap::apiserver {

namespace {

// Splits on unescaped commas; kube escapes '\', ',' and '=' in values with a backslash.
std::vector<std::string> splitTerms(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      current += text[i];
      current += text[++i];
    } else if (text[i] == ',') {
      out.push_back(current);
      current.clear();
    } else {
      current += text[i];
    }
  }
  out.push_back(current);
  return out;
}

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
    }
    out += text[i];
  }
  return out;
}

// The first unescaped occurrence of an operator: returns its position and length (0 when none).
std::pair<std::size_t, std::size_t> findOperator(const std::string& term, bool* equals) {
  for (std::size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '\\') {
      ++i;
      continue;
    }
    if (term.compare(i, 2, "!=") == 0) {
      *equals = false;
      return {i, 2};
    }
    if (term.compare(i, 2, "==") == 0) {
      *equals = true;
      return {i, 2};
    }
    if (term[i] == '=') {
      *equals = true;
      return {i, 1};
    }
  }
  return {std::string::npos, 0};
}

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t");
  std::size_t end = text.find_last_not_of(" \t");
  return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
}

}  // namespace

Expected<FieldSelector, std::string> FieldSelector::parse(std::string_view text, const ServedResource& type) {
  FieldSelector selector;
  if (trim(std::string(text)).empty()) {
    return selector;
  }
  for (const std::string& raw : splitTerms(text)) {
    std::string term = trim(raw);
    if (term.empty()) {
      continue;
    }
    Term parsed;
    auto [position, length] = findOperator(term, &parsed.equals);
    if (length == 0) {
      return "invalid selector: '" + std::string(text) + "'; can't understand '" + term + "'";
    }
    parsed.field = trim(term.substr(0, position));
    parsed.value = unescape(trim(term.substr(position + length)));
    if (!type.fieldLabels.empty()) {
      auto label = std::find_if(type.fieldLabels.begin(), type.fieldLabels.end(),
                                [&](const FieldLabel& known) { return known.label == parsed.field; });
      if (label == type.fieldLabels.end()) {
        return "field label not supported: " + parsed.field;
      }
      parsed.paths = label->paths;
    } else {
      bool known =
          parsed.field == "metadata.name" || parsed.field == "metadata.namespace" ||
          std::any_of(
              type.selectableFields.begin(), type.selectableFields.end(), [&](const std::string& path) {
                return path == parsed.field || (path.starts_with('.') && path.substr(1) == parsed.field);
              });
      if (!known) {
        return "field label not supported: " + parsed.field;
      }
      parsed.paths = {parsed.field};
    }
    selector.terms_.push_back(std::move(parsed));
  }
  return selector;
}

std::string FieldSelector::fieldValue(const nlohmann::json& object, const std::string& field) {
  const nlohmann::json* node = &object;
  std::size_t start = 0;
  while (start <= field.size()) {
    std::size_t dot = field.find('.', start);
    std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(part)) {
      return "";
    }
    node = &(*node)[part];
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  if (node->is_string()) {
    return node->get<std::string>();
  }
  if (node->is_null()) {
    return "";
  }
  return node->dump();
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  return std::all_of(terms_.begin(), terms_.end(), [&](const Term& term) {
    std::string value;
    for (const std::string& path : term.paths) {
      value = fieldValue(object, path);
      if (!value.empty()) {
        break;
      }
    }
    return (value == term.value) == term.equals;
  });
}

}  // namespace virtsnap::apiserver
