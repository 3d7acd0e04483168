#include "controller/apiserver/yaml_json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include <re2/re2.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "controller/apiserver/validation/request_body.h"

namespace virtsnap::apiserver {

namespace {

// A document refused while it is turned into JSON (too deep, too costly).
struct Refused {
  std::string message;
};

nlohmann::json plainScalar(const std::string& text) {
  if (text.size() > 256) {  // no null, bool or number is this long
    return text;
  }
  // The plain scalars that resolve to null, a bool, an int or a float (anchored: FullMatch).
  static const RE2 kNull("~|null|Null|NULL|");
  static const RE2 kBool("true|True|TRUE|false|False|FALSE");
  static const RE2 kInt("[-+]?[0-9]+");
  static const RE2 kFloat("[-+]?([.][0-9]+|[0-9]+([.][0-9]*)?)([eE][-+]?[0-9]+)?");
  if (RE2::FullMatch(text, kNull)) {
    return nullptr;
  }
  if (RE2::FullMatch(text, kBool)) {
    return text[0] == 't' || text[0] == 'T';
  }
  if (RE2::FullMatch(text, kInt)) {
    const auto parsed = nlohmann::json::parse(text[0] == '+' ? text.substr(1) : text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;  // too large for 64 bits: keep the text
  }
  if (RE2::FullMatch(text, kFloat)) {
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
  explicit Converter(std::size_t budget) : budget_(budget) {}

  nlohmann::json toJson(const YAML::Node& node, int depth) {
    if (depth > kMaxNestingDepth) {
      throw Refused{"the document nests deeper than " + std::to_string(kMaxNestingDepth) + " levels"};
    }
    spend(1);
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        spend(node.Scalar().size());
        // "!" marks a quoted (non-plain) scalar: always a string.
        return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plainScalar(node.Scalar());
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
};

}  // namespace

Expected<std::vector<nlohmann::json>, std::string> yamlDocumentsToJson(std::string_view text) {
  // yaml-cpp passes invalid UTF-8 through into strings that cannot be written as JSON afterwards.
  if (!isValidUtf8(text)) {
    return std::string("malformed YAML: the document is not valid UTF-8");
  }
  try {
    std::vector<nlohmann::json> documents;
    // Without aliases a document's JSON costs about as many units as it has bytes; the budget leaves
    // room for the modest anchors people write and refuses expansions beyond that.
    Converter converter(2 * text.size() + 64 * 1024);
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

}  // namespace virtsnap::apiserver
