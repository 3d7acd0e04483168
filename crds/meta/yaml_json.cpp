#include "crds/meta/yaml_json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "base/utf8.h"

namespace virtsnap::meta {

namespace {

// A document refused while it is turned into JSON (too deep, too costly).
struct Refused {
  std::string message;
};

std::size_t digitsFrom(const std::string& text, std::size_t at) {
  std::size_t count = 0;
  while (at + count < text.size() && text[at + count] >= '0' && text[at + count] <= '9') {
    ++count;
  }
  return count;
}

std::size_t signAt(const std::string& text, std::size_t at) {
  return at < text.size() && (text[at] == '-' || text[at] == '+') ? 1 : 0;
}

// [-+]?[0-9]+
bool isInteger(const std::string& text) {
  const std::size_t sign = signAt(text, 0);
  const std::size_t digits = digitsFrom(text, sign);
  return digits > 0 && sign + digits == text.size();
}

// [-+]?([.][0-9]+|[0-9]+([.][0-9]*)?)([eE][-+]?[0-9]+)?
bool isFloat(const std::string& text) {
  std::size_t at = signAt(text, 0);
  const std::size_t whole = digitsFrom(text, at);
  at += whole;
  if (at < text.size() && text[at] == '.') {
    const std::size_t fraction = digitsFrom(text, ++at);
    at += fraction;
    if (whole == 0 && fraction == 0) {
      return false;
    }
  } else if (whole == 0) {
    return false;
  }
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    at += signAt(text, at);
    const std::size_t exponent = digitsFrom(text, at);
    if (exponent == 0) {
      return false;
    }
    at += exponent;
  }
  return at == text.size();
}

nlohmann::json plainScalar(const std::string& text) {
  if (text.size() > 256) {  // no null, bool or number is this long
    return text;
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  if (isInteger(text)) {
    const auto parsed = nlohmann::json::parse(text[0] == '+' ? text.substr(1) : text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;  // too large for 64 bits: keep the text
  }
  if (isFloat(text)) {
    // Out of a double's range (1e400) it stays a string, as go-yaml resolves it.
    errno = 0;
    const double value = std::strtod(text.c_str(), nullptr);
    return errno == ERANGE && std::isinf(value) ? nlohmann::json(text) : nlohmann::json(value);
  }
  return text;
}

// Turns one document into JSON. yaml-cpp keeps an alias as a second reference to its anchor's node,
// so parsing an alias bomb is cheap and expanding it is what costs: every node and scalar byte written
// is counted against `budget` (units: a node is one, a scalar one per byte), and the document is
// refused as kube's YAML decoder refuses "excessive aliasing" once it runs out.
class Converter {
 public:
  Converter(std::size_t budget, const YamlOptions& options) : budget_(budget), options_(options) {}

  nlohmann::json toJson(const YAML::Node& node, int depth) {
    if (depth > options_.maxNestingDepth) {
      throw Refused{"the document nests deeper than " + std::to_string(options_.maxNestingDepth) + " levels"};
    }
    spend(1);
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        spend(node.Scalar().size());
        // "!" marks a quoted (non-plain) scalar: always a string. yaml-cpp gives the plain scalars
        // null, ~ and the empty one the Null type, so Text keeps them null.
        return node.Tag() == "!" || options_.plainScalars == PlainScalars::Text
                   ? nlohmann::json(node.Scalar())
                   : plainScalar(node.Scalar());
      case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        for (const YAML::Node& item : node) {
          array.push_back(toJson(item, depth + 1));
        }
        return array;
      }
      case YAML::NodeType::Map: {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& entry : node) {
          const std::string& key = entry.first.as<std::string>();
          spend(key.size());
          object[key] = toJson(entry.second, depth + 1);
        }
        return object;
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return nullptr;
  }

 private:
  void spend(std::size_t units) {
    if (units > budget_) {
      throw Refused{"yaml: document contains excessive aliasing"};
    }
    budget_ -= units;
  }

  std::size_t budget_;
  const YamlOptions& options_;
};

}  // namespace

Expected<std::vector<nlohmann::json>, std::string> yamlDocumentsToJson(std::string_view text,
                                                                       const YamlOptions& options) {
  // yaml-cpp passes invalid UTF-8 through into strings that cannot be written as JSON afterwards.
  if (!isValidUtf8(text)) {
    return std::string("malformed YAML: the document is not valid UTF-8");
  }
  try {
    std::vector<nlohmann::json> documents;
    // Without aliases a document's JSON costs about as many units as it has bytes; the budget leaves
    // room for the modest anchors people write and refuses expansions beyond that.
    Converter converter(2 * text.size() + 64 * 1024, options);
    for (const YAML::Node& document : YAML::LoadAll(std::string(text))) {
      if (!document.IsNull()) {
        documents.push_back(converter.toJson(document, 1));
      }
    }
    return documents;
  } catch (const Refused& refused) {
    return refused.message;
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (a few hundred levels) says only "bad file".
    return "malformed YAML: the document nests deeper than the parser allows (" + std::to_string(e.depth()) +
           " levels, at line " + std::to_string(e.mark.line + 1) + ")";
  } catch (const YAML::Exception& e) {
    return std::string("malformed YAML: ") + e.what();
  }
}

}  // namespace virtsnap::meta
