#include "controller/apiserver/validation/rule_checker.h"

#include <optional>
#include <string>

#include "controller/apiserver/cel/cel.h"
#include "controller/apiserver/validation/field_errors.h"
#include "controller/apiserver/validation/schema_nodes.h"

namespace virtsnap::apiserver::validation {

using nlohmann::json;

namespace {

class RuleChecker {
 public:
  explicit RuleChecker(std::vector<StatusCause>& causes) : causes_(causes) {}

  void check(const json& value, const json* old, const json& schema, const std::string& path, bool root) {
    if (const json* rules = keyword(schema, "x-kubernetes-validations");
        rules != nullptr && rules->is_array()) {
      for (const auto& rule : *rules) {
        if (rule.is_object()) {
          checkRule(rule, value, old, schema, path);
        }
      }
    }
    if (value.is_object()) {
      for (const auto& [key, item] : value.items()) {
        if (root && isTypeMetaOrMetadata(key)) {
          continue;
        }
        bool isProperty = false;
        const json* sub = entrySchema(schema, key, &isProperty);
        if (sub == nullptr) {
          continue;
        }
        const json* oldItem = nullptr;
        if (old != nullptr && old->is_object()) {
          auto it = old->find(key);
          oldItem = it != old->end() ? &*it : nullptr;
        }
        check(item, oldItem, *sub, isProperty ? child(path, key) : path + "[" + key + "]", false);
      }
    } else if (value.is_array()) {
      const json* items = itemsSchema(schema);
      if (items == nullptr) {
        return;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(value[i], correlatedOldItem(value[i], old, schema), *items, indexed(path, i), false);
      }
    }
  }

 private:
  // Only list-type map items have an old self: the old item with the same keys.
  static const json* correlatedOldItem(const json& item, const json* old, const json& schema) {
    const json* listType = keyword(schema, "x-kubernetes-list-type");
    const json* mapKeys = keyword(schema, "x-kubernetes-list-map-keys");
    if (old == nullptr || !old->is_array() || listType == nullptr || *listType != "map" ||
        mapKeys == nullptr || !mapKeys->is_array() || !item.is_object()) {
      return nullptr;
    }
    for (const auto& candidate : *old) {
      if (!candidate.is_object()) {
        continue;
      }
      bool same = true;
      for (const auto& k : *mapKeys) {
        const std::string key = k.is_string() ? k.get<std::string>() : "";
        same = same && item.value(key, json()) == candidate.value(key, json());
      }
      if (same) {
        return &candidate;
      }
    }
    return nullptr;
  }

  void checkRule(const json& rule, const json& value, const json* old, const json& schema,
                 const std::string& path) {
    const std::string source = rule.value("rule", "");
    const std::string message = trimmed(rule.value("message", ""));
    const std::string shown = message.empty() ? trimmed(source) : message;
    // field.Error shows the schema's type as the bad value ("string", "object"; "" for int-or-string).
    const json typeValue = schemaType(schema);
    auto program = cel::compile(source);
    if (!program) {
      causes_.push_back(invalid(path, typeValue, "rule compile error: " + program.error()));
      return;
    }
    const cel::Program& compiled = *program.value();
    cel::Activation activation;
    activation.emplace("self", cel::Value::fromJson(value, &schema));
    if (compiled.references("oldSelf")) {
      if (old == nullptr) {
        return;  // a transition rule: only on update, and only when the old value exists
      }
      activation.emplace("oldSelf", cel::Value::fromJson(*old, &schema));
    }
    const cel::Value result = compiled.evaluate(activation);
    if (result.isError()) {
      const std::string& error = result.asString();
      if (error.rfind("no such overload", 0) == 0) {
        causes_.push_back(invalid(path, typeValue,
                                  "'" + error +
                                      "': call arguments did not match a supported operator, function or "
                                      "macro signature for rule: " +
                                      shown));
      } else {
        causes_.push_back(invalid(path, typeValue, error + " evaluating rule: " + shown));
      }
      return;
    }
    if (result.kind() == cel::Value::Kind::Bool && result.asBool()) {
      return;
    }
    if (result.kind() != cel::Value::Kind::Bool) {
      causes_.push_back(invalid(path, typeValue, "rule result must be a boolean: " + shown));
      return;
    }
    std::string detail = message.empty() ? "failed rule: " + trimmed(source) : message;
    if (const std::string expression = rule.value("messageExpression", ""); !expression.empty()) {
      detail = messageFromExpression(expression, activation).value_or(detail);
    }
    std::string field = path;
    if (const std::string fieldPath = rule.value("fieldPath", ""); !fieldPath.empty()) {
      field = fieldPath[0] == '.' ? path + fieldPath : child(path, fieldPath);
    }
    const std::string reason = rule.value("reason", "FieldValueInvalid");
    if (reason == "FieldValueForbidden") {
      causes_.push_back(forbidden(field, detail));
    } else if (reason == "FieldValueRequired") {
      causes_.push_back(required(field, detail));
    } else if (reason == "FieldValueDuplicate") {
      causes_.push_back(duplicate(field, typeValue));
    } else {
      causes_.push_back(invalid(field, typeValue, detail));
    }
  }

  // A messageExpression's result is used when it is a non-empty single-line string; otherwise the message.
  static std::optional<std::string> messageFromExpression(const std::string& expression,
                                                          const cel::Activation& activation) {
    auto program = cel::compile(expression);
    if (!program) {
      return std::nullopt;
    }
    const cel::Value result = program.value()->evaluate(activation);
    if (result.kind() != cel::Value::Kind::String) {
      return std::nullopt;
    }
    const std::string text = trimmed(result.asString());
    if (text.empty() || text.find_first_of("\r\n") != std::string::npos) {
      return std::nullopt;
    }
    return text;
  }

  static std::string trimmed(const std::string& s) {
    const std::size_t first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
      return "";
    }
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
  }

  std::vector<StatusCause>& causes_;
};

}  // namespace

void checkRules(const json& object, const json* old, const json& schema, std::vector<StatusCause>& causes) {
  RuleChecker(causes).check(object, old, schema, "", true);
}

}  // namespace virtsnap::apiserver::validation
