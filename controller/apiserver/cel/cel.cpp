#include "controller/apiserver/cel/cel.h"

#include <mutex>
#include <unordered_map>

#include "controller/apiserver/cel/functions.h"
#include "controller/apiserver/cel/parser.h"

namespace virtsnap::apiserver::cel {

namespace {

constexpr std::size_t kMaxCachedPrograms = 4096;

// Walks the tree once per evaluation. Comprehension variables live on a small stack that shadows the
// activation; the tree's depth is bounded by the parser, so the recursion is too.
class Evaluator {
 public:
  explicit Evaluator(const Activation& activation) : activation_(activation) {}

  Value eval(const Node& node) {
    switch (node.kind) {
      case Node::Kind::Literal:
        return node.value;
      case Node::Kind::Ident:
        return lookup(node.name);
      case Node::Kind::Select:
        return select(eval(*node.args[0]), node.name, false);
      case Node::Kind::Has:
        return select(eval(*node.args[0]), node.name, true);
      case Node::Kind::Index:
        return index(eval(*node.args[0]), eval(*node.args[1]));
      case Node::Kind::Call: {
        std::vector<Value> args;
        args.reserve(node.args.size());
        for (const auto& arg : node.args) {
          args.push_back(eval(*arg));
        }
        return callFunction(node.name, node.receiverStyle, args);
      }
      case Node::Kind::CreateList: {
        ValueList items;
        for (const auto& arg : node.args) {
          items.push_back(eval(*arg));
          if (items.back().isError()) {
            return items.back();
          }
        }
        return Value::list(std::move(items));
      }
      case Node::Kind::CreateMap:
        return createMap(node);
      case Node::Kind::Unary:
        return applyUnary(node.name, eval(*node.args[0]));
      case Node::Kind::Binary:
        if (node.name == "&&" || node.name == "||") {
          return logical(node.name == "&&", *node.args[0], *node.args[1]);
        }
        return applyBinary(node.name, eval(*node.args[0]), eval(*node.args[1]));
      case Node::Kind::Conditional: {
        const Value condition = eval(*node.args[0]);
        if (condition.isError()) {
          return condition;
        }
        if (condition.kind() != Value::Kind::Bool) {
          return Value::noSuchOverload();
        }
        return eval(*node.args[condition.asBool() ? 1 : 2]);
      }
      case Node::Kind::Comprehension:
        return comprehension(node);
    }
    return Value::error("unknown expression");
  }

 private:
  Value lookup(const std::string& name) const {
    for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
      if (*it->first == name) {
        return it->second;
      }
    }
    auto found = activation_.find(name);
    if (found == activation_.end()) {
      return Value::error("no such attribute: " + name);
    }
    return found->second;
  }

  static Value select(const Value& operand, const std::string& field, bool testOnly) {
    if (operand.isError()) {
      return operand;
    }
    if (operand.kind() != Value::Kind::Map) {
      return Value::noSuchOverload();
    }
    const Value* found = operand.find(Value::string(field));
    if (testOnly) {
      return Value::boolean(found != nullptr);
    }
    return found != nullptr ? *found : Value::error("no such key: " + field);
  }

  static Value index(const Value& operand, const Value& key) {
    if (operand.isError()) {
      return operand;
    }
    if (key.isError()) {
      return key;
    }
    if (operand.kind() == Value::Kind::List) {
      const ValueList& items = operand.asList();
      std::int64_t i = 0;
      if (key.kind() == Value::Kind::Int) {
        i = key.asInt();
      } else if (key.kind() == Value::Kind::Uint && key.asUint() <= items.size()) {
        i = static_cast<std::int64_t>(key.asUint());
      } else if (key.kind() == Value::Kind::Uint) {
        return Value::error("index out of bounds: " + std::to_string(key.asUint()));
      } else {
        return Value::noSuchOverload();
      }
      if (i < 0 || static_cast<std::uint64_t>(i) >= items.size()) {
        return Value::error("index out of bounds: " + std::to_string(i));
      }
      return items[static_cast<std::size_t>(i)];
    }
    if (operand.kind() == Value::Kind::Map) {
      const Value* found = operand.find(key);
      if (found == nullptr) {
        return Value::error("no such key: " +
                            (key.kind() == Value::Kind::String ? key.asString() : key.debugString()));
      }
      return *found;
    }
    return Value::noSuchOverload();
  }

  Value createMap(const Node& node) {
    ValueMap entries;
    for (std::size_t i = 0; i + 1 < node.args.size(); i += 2) {
      Value key = eval(*node.args[i]);
      if (key.isError()) {
        return key;
      }
      const auto kind = key.kind();
      if (kind != Value::Kind::String && kind != Value::Kind::Int && kind != Value::Kind::Uint &&
          kind != Value::Kind::Bool) {
        return Value::error("unsupported key type: " + key.typeName());
      }
      Value item = eval(*node.args[i + 1]);
      if (item.isError()) {
        return item;
      }
      for (const auto& entry : entries) {
        if (equals(entry.first, key)) {
          return Value::error("Failed with repeated key: " + key.debugString());
        }
      }
      entries.emplace_back(std::move(key), std::move(item));
    }
    return Value::map(std::move(entries));
  }

  // CEL's commutative && and ||: the absorbing value (false for &&, true for ||) wins over an error on
  // either side; otherwise an error wins; a non-bool operand is "no such overload".
  Value logical(bool isAnd, const Node& leftNode, const Node& rightNode) {
    const Value left = eval(leftNode);
    if (left.kind() == Value::Kind::Bool && left.asBool() != isAnd) {
      return left;
    }
    const Value right = eval(rightNode);
    if (right.kind() == Value::Kind::Bool && right.asBool() != isAnd) {
      return right;
    }
    for (const Value* v : {&left, &right}) {
      if (v->isError()) {
        return *v;
      }
      if (v->kind() != Value::Kind::Bool) {
        return Value::noSuchOverload();
      }
    }
    return Value::boolean(isAnd);
  }

  Value comprehension(const Node& node) {
    const Value range = eval(*node.args[0]);
    if (range.isError()) {
      return range;
    }
    ValueList elements;
    if (range.kind() == Value::Kind::List) {
      elements = range.asList();
    } else if (range.kind() == Value::Kind::Map) {
      for (const auto& entry : range.asMap()) {
        elements.push_back(entry.first);
      }
    } else {
      return Value::noSuchOverload();
    }
    const std::string& macro = node.name;
    std::optional<Value> firstError;
    std::int64_t trueCount = 0;
    ValueList mapped;
    for (const auto& element : elements) {
      locals_.emplace_back(&node.iterVar, element);
      Value result = eval(*node.args[1]);
      Value extra;
      if (macro == "map" && node.args.size() == 3 && result.kind() == Value::Kind::Bool && result.asBool()) {
        extra = eval(*node.args[2]);  // map(x, filter, transform)
      }
      locals_.pop_back();
      if (macro == "map" && node.args.size() == 2) {
        if (result.isError()) {
          return result;
        }
        mapped.push_back(std::move(result));
        continue;
      }
      if (result.isError()) {
        if (macro == "all" || macro == "exists") {
          firstError = firstError ? firstError : result;  // absorbed if the answer is decided later
          continue;
        }
        return result;
      }
      if (result.kind() != Value::Kind::Bool) {
        return Value::noSuchOverload();
      }
      const bool b = result.asBool();
      if (macro == "all" && !b) {
        return Value::boolean(false);
      }
      if (macro == "exists" && b) {
        return Value::boolean(true);
      }
      if (macro == "exists_one" && b) {
        ++trueCount;
      }
      if (macro == "filter" && b) {
        mapped.push_back(element);
      }
      if (macro == "map" && b) {
        if (extra.isError()) {
          return extra;
        }
        mapped.push_back(std::move(extra));
      }
    }
    if (firstError) {
      return *firstError;
    }
    if (macro == "all" || macro == "exists") {
      return Value::boolean(macro == "all");
    }
    if (macro == "exists_one") {
      return Value::boolean(trueCount == 1);
    }
    return Value::list(std::move(mapped));
  }

  const Activation& activation_;
  std::vector<std::pair<const std::string*, Value>> locals_;
};

// Collects the free variables and checks names: the environment declares only self and oldSelf, and a
// call must name a known function (cel-go finds both when compiling, before any object exists).
std::string check(const Node& node, std::vector<std::string>& scope,
                  std::set<std::string, std::less<>>& variables) {
  switch (node.kind) {
    case Node::Kind::Ident: {
      for (const auto& local : scope) {
        if (local == node.name) {
          return "";
        }
      }
      if (node.name != "self" && node.name != "oldSelf") {
        return "undeclared reference to '" + node.name + "'";
      }
      variables.insert(node.name);
      return "";
    }
    case Node::Kind::Call:
      if (!isKnownFunction(node.name, node.receiverStyle)) {
        return "undeclared reference to '" + node.name + "'";
      }
      break;
    case Node::Kind::Comprehension: {
      std::string error = check(*node.args[0], scope, variables);
      if (!error.empty()) {
        return error;
      }
      scope.push_back(node.iterVar);
      for (std::size_t i = 1; i < node.args.size() && error.empty(); ++i) {
        error = check(*node.args[i], scope, variables);
      }
      scope.pop_back();
      return error;
    }
    default:
      break;
  }
  for (const auto& arg : node.args) {
    std::string error = check(*arg, scope, variables);
    if (!error.empty()) {
      return error;
    }
  }
  return "";
}

}  // namespace

Program::Program(std::string source, NodePtr root, std::set<std::string, std::less<>> variables)
    : source_(std::move(source)), root_(std::move(root)), variables_(std::move(variables)) {}

Value Program::evaluate(const Activation& activation) const {
  try {
    return Evaluator(activation).eval(*root_);
  } catch (const std::exception& e) {  // bad_alloc, length_error: still an error value, never a crash
    return Value::error(e.what());
  }
}

Expected<std::shared_ptr<const Program>, std::string> compile(const std::string& source) {
  using Result = Expected<std::shared_ptr<const Program>, std::string>;
  static std::mutex mutex;
  static std::unordered_map<std::string, Result> cache;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(source);
    if (it != cache.end()) {
      return it->second;
    }
  }
  Result result = [&]() -> Result {
    auto parsed = parse(source);
    if (!parsed) {
      return parsed.error();
    }
    std::vector<std::string> scope;
    std::set<std::string, std::less<>> variables;
    const std::string error = check(*parsed.value(), scope, variables);
    if (!error.empty()) {
      return "ERROR: <input>: " + error;
    }
    return std::shared_ptr<const Program>(
        std::make_shared<Program>(source, parsed.value(), std::move(variables)));
  }();
  std::lock_guard lock(mutex);
  if (cache.size() >= kMaxCachedPrograms) {
    cache.clear();
  }
  cache.emplace(source, result);
  return result;
}

}  // namespace virtsnap::apiserver::cel
