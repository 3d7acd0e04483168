#include "controller/apiserver/storage/label_selector.h"

#include <cctype>
#include <cstdlib>
#include <optional>

namespace virtsnap::apiserver {

namespace {

enum class Token {
  End,
  Identifier,
  Comma,
  OpenParen,
  CloseParen,
  Not,
  NotEquals,
  Equals,
  DoubleEquals,
  In,
  NotIn,
  Greater,
  Less
};

struct Lexeme {
  Token token = Token::End;
  std::string text;
};

bool isSpecial(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

// The tokens of kube's selector lexer: identifiers run until whitespace or a special character.
std::vector<Lexeme> lex(std::string_view text) {
  std::vector<Lexeme> out;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    if (isSpecial(c)) {
      std::string_view two = text.substr(i, 2);
      if (two == "!=") {
        out.push_back({Token::NotEquals, "!="});
        i += 2;
      } else if (two == "==") {
        out.push_back({Token::DoubleEquals, "=="});
        i += 2;
      } else {
        Token token = c == '='   ? Token::Equals
                      : c == '!' ? Token::Not
                      : c == '(' ? Token::OpenParen
                      : c == ')' ? Token::CloseParen
                      : c == ',' ? Token::Comma
                      : c == '>' ? Token::Greater
                                 : Token::Less;
        out.push_back({token, std::string(1, c)});
        ++i;
      }
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0 && !isSpecial(text[i])) {
      ++i;
    }
    std::string word(text.substr(start, i - start));
    Token token = word == "in" ? Token::In : word == "notin" ? Token::NotIn : Token::Identifier;
    out.push_back({token, word});
  }
  out.push_back({Token::End, ""});
  return out;
}

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A qualified name part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters.
bool validNamePart(std::string_view name) {
  if (name.empty() || name.size() > 63 || !isAlnum(name.front()) || !isAlnum(name.back())) {
    return false;
  }
  for (char c : name) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// A DNS-1123 subdomain (the optional prefix of a label key).
bool validPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 253) {
    return false;
  }
  for (char c : prefix) {
    if (!(std::islower(static_cast<unsigned char>(c)) != 0 ||
          std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.')) {
      return false;
    }
  }
  return isAlnum(prefix.front()) && isAlnum(prefix.back());
}

std::optional<std::string> checkKey(const std::string& key) {
  std::size_t slash = key.find('/');
  bool ok = slash == std::string::npos ? validNamePart(key)
                                       : validPrefix(std::string_view(key).substr(0, slash)) &&
                                             validNamePart(std::string_view(key).substr(slash + 1));
  if (ok) {
    return std::nullopt;
  }
  return "key: Invalid value: \"" + key +
         "\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
         "with an "
         "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
}

std::optional<std::string> checkValue(const std::string& key, const std::string& value) {
  if (value.empty() || validNamePart(value)) {
    return std::nullopt;
  }
  return "values[0][" + key + "]: Invalid value: \"" + value +
         "\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
         "and "
         "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
         "regex "
         "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
}

class Parser {
 public:
  explicit Parser(std::vector<Lexeme> lexemes) : lexemes_(std::move(lexemes)) {}

  Expected<std::vector<LabelSelector::Requirement>, std::string> parse() {
    std::vector<LabelSelector::Requirement> out;
    if (peek().token == Token::End) {
      return out;
    }
    while (true) {
      auto requirement = parseRequirement();
      if (!requirement) {
        return requirement.error();
      }
      out.push_back(std::move(requirement).value());
      const Lexeme& next = take();
      if (next.token == Token::End) {
        return out;
      }
      if (next.token != Token::Comma) {
        return "found '" + next.text + "', expected: ',' or 'end of string'";
      }
      if (peek().token == Token::End) {
        return std::string("found '', expected: identifier after ','");
      }
    }
  }

 private:
  const Lexeme& peek() const { return lexemes_[position_]; }
  const Lexeme& take() {
    const Lexeme& lexeme = lexemes_[position_];
    if (position_ + 1 < lexemes_.size()) {
      ++position_;
    }
    return lexeme;
  }

  Expected<LabelSelector::Requirement, std::string> parseRequirement() {
    LabelSelector::Requirement requirement;
    bool negated = false;
    if (peek().token == Token::Not) {
      take();
      negated = true;
    }
    const Lexeme& key = take();
    if (key.token != Token::Identifier) {
      return "found '" + key.text + "', expected: identifier";
    }
    requirement.key = key.text;
    if (auto problem = checkKey(requirement.key)) {
      return "unable to parse requirement: " + *problem;
    }
    if (negated) {
      requirement.op = LabelSelector::Op::DoesNotExist;
      return requirement;
    }
    Token op = peek().token;
    if (op == Token::End || op == Token::Comma) {
      requirement.op = LabelSelector::Op::Exists;
      return requirement;
    }
    take();
    switch (op) {
      case Token::Equals:
      case Token::DoubleEquals:
        requirement.op = LabelSelector::Op::Equals;
        break;
      case Token::NotEquals:
        requirement.op = LabelSelector::Op::NotEquals;
        break;
      case Token::In:
        requirement.op = LabelSelector::Op::In;
        break;
      case Token::NotIn:
        requirement.op = LabelSelector::Op::NotIn;
        break;
      case Token::Greater:
        requirement.op = LabelSelector::Op::GreaterThan;
        break;
      case Token::Less:
        requirement.op = LabelSelector::Op::LessThan;
        break;
      default:
        return "found '" + lexemes_[position_ - 1].text + "', expected: in, notin, =, ==, !=, gt, lt";
    }
    if (requirement.op == LabelSelector::Op::In || requirement.op == LabelSelector::Op::NotIn) {
      if (take().token != Token::OpenParen) {
        return "found '" + lexemes_[position_ - 1].text + "', expected: '('";
      }
      while (true) {
        std::string value;
        if (peek().token == Token::Identifier) {
          value = take().text;
        }
        if (auto problem = checkValue(requirement.key, value)) {
          return "unable to parse requirement: " + *problem;
        }
        requirement.values.insert(value);
        const Lexeme& next = take();
        if (next.token == Token::CloseParen) {
          break;
        }
        if (next.token != Token::Comma) {
          return "found '" + next.text + "', expected: ',', ')' or identifier";
        }
      }
      return requirement;
    }
    std::string value;
    if (peek().token == Token::Identifier) {
      value = take().text;
    } else if (peek().token != Token::End && peek().token != Token::Comma) {
      return "found '" + peek().text + "', expected: identifier";
    }
    if (requirement.op == LabelSelector::Op::GreaterThan || requirement.op == LabelSelector::Op::LessThan) {
      char* end = nullptr;
      std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') {
        return std::string(
            "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer");
      }
    } else if (auto problem = checkValue(requirement.key, value)) {
      return "unable to parse requirement: " + *problem;
    }
    requirement.values.insert(value);
    return requirement;
  }

  std::vector<Lexeme> lexemes_;
  std::size_t position_ = 0;
};

}  // namespace

Expected<LabelSelector, std::string> LabelSelector::parse(std::string_view text) {
  auto requirements = Parser(lex(text)).parse();
  if (!requirements) {
    return requirements.error();
  }
  LabelSelector selector;
  selector.requirements_ = std::move(requirements).value();
  return selector;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  for (const Requirement& requirement : requirements_) {
    const nlohmann::json* value = nullptr;
    if (labels.is_object()) {
      auto it = labels.find(requirement.key);
      if (it != labels.end() && it->is_string()) {
        value = &*it;
      }
    }
    std::string text = value != nullptr ? value->get<std::string>() : std::string();
    bool ok = false;
    switch (requirement.op) {
      case Op::Equals:
      case Op::In:
        ok = value != nullptr && requirement.values.contains(text);
        break;
      case Op::NotEquals:
      case Op::NotIn:
        ok = value == nullptr || !requirement.values.contains(text);
        break;
      case Op::Exists:
        ok = value != nullptr;
        break;
      case Op::DoesNotExist:
        ok = value == nullptr;
        break;
      case Op::GreaterThan:
      case Op::LessThan: {
        char* end = nullptr;
        long long have = value != nullptr ? std::strtoll(text.c_str(), &end, 10) : 0;
        long long want = std::strtoll(requirement.values.begin()->c_str(), nullptr, 10);
        bool numeric = value != nullptr && !text.empty() && *end == '\0';
        ok = numeric && (requirement.op == Op::GreaterThan ? have > want : have < want);
        break;
      }
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace virtsnap::apiserver
