#include "controller/apiserver/cel/parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace virtsnap::apiserver::cel {

namespace {

struct Token {
  enum class Kind { End, Ident, Int, Uint, Double, String, Punct };
  Kind kind = Kind::End;
  std::string text;  // identifier, punctuation, the digits of a number, or a string's decoded content
  std::size_t offset = 0;
};

// Thrown inside the parser only and turned into the error value by parse(); never escapes this file.
struct SyntaxError : std::runtime_error {
  SyntaxError(std::size_t at, const std::string& what) : std::runtime_error(what), offset(at) {}
  std::size_t offset;
};

constexpr int kMaxDepth = 128;    // deeper nesting is refused rather than risking the stack
constexpr int kMaxHeight = 1000;  // left-deep chains (1 + 1 + ...) are built by loops, not recursion

const std::set<std::string, std::less<>> kReserved = {
    "as",  "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
    "let", "loop",  "package", "namespace", "return", "var", "void",     "while"};

bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void appendUtf8(std::string& out, std::uint32_t cp, std::size_t at) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    throw SyntaxError(at, "invalid unicode code point in escape sequence");
  }
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(const std::string& source) : src_(source) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    for (;;) {
      skipSpaceAndComments();
      Token token;
      token.offset = pos_;
      if (pos_ >= src_.size()) {
        tokens.push_back(token);
        return tokens;
      }
      const char c = src_[pos_];
      const bool afterOperand = !tokens.empty() && endsOperand(tokens.back());
      if ((c == 'r' || c == 'R' || c == 'b' || c == 'B') && pos_ + 1 < src_.size() &&
          (src_[pos_ + 1] == '"' || src_[pos_ + 1] == '\'')) {
        if (c == 'b' || c == 'B') {
          throw SyntaxError(pos_, "bytes literals are not supported");
        }
        ++pos_;
        token.kind = Token::Kind::String;
        token.text = string(true);
      } else if (isIdentStart(c)) {
        token.kind = Token::Kind::Ident;
        while (pos_ < src_.size() && (isIdentStart(src_[pos_]) || isDigit(src_[pos_]))) {
          token.text += src_[pos_++];
        }
      } else if (isDigit(c) ||
                 (c == '.' && !afterOperand && pos_ + 1 < src_.size() && isDigit(src_[pos_ + 1]))) {
        number(token);
      } else if (c == '"' || c == '\'') {
        token.kind = Token::Kind::String;
        token.text = string(false);
      } else {
        token.kind = Token::Kind::Punct;
        static const char* const kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
        for (const char* two : kTwo) {
          if (src_.compare(pos_, 2, two) == 0) {
            token.text = two;
          }
        }
        if (token.text.empty()) {
          if (std::string("<>!+-*/%?:.,()[]{}").find(c) == std::string::npos) {
            throw SyntaxError(pos_, std::string("unexpected character '") + c + "'");
          }
          token.text = std::string(1, c);
        }
        pos_ += token.text.size();
      }
      tokens.push_back(std::move(token));
    }
  }

 private:
  static bool endsOperand(const Token& t) {
    return t.kind == Token::Kind::Ident || t.kind == Token::Kind::Int || t.kind == Token::Kind::Uint ||
           t.kind == Token::Kind::Double || t.kind == Token::Kind::String ||
           (t.kind == Token::Kind::Punct && (t.text == ")" || t.text == "]" || t.text == "}"));
  }

  void skipSpaceAndComments() {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (src_.compare(pos_, 2, "//") == 0) {
        while (pos_ < src_.size() && src_[pos_] != '\n') {
          ++pos_;
        }
      } else {
        return;
      }
    }
  }

  void number(Token& token) {
    const std::size_t start = pos_;
    if (src_.compare(pos_, 2, "0x") == 0 || src_.compare(pos_, 2, "0X") == 0) {
      pos_ += 2;
      while (pos_ < src_.size() && isHex(src_[pos_])) {
        ++pos_;
      }
      if (pos_ == start + 2) {
        throw SyntaxError(start, "invalid hexadecimal literal");
      }
      token.kind = Token::Kind::Int;
    } else {
      bool isDouble = false;
      while (pos_ < src_.size() && isDigit(src_[pos_])) {
        ++pos_;
      }
      if (pos_ + 1 < src_.size() && src_[pos_] == '.' && isDigit(src_[pos_ + 1])) {
        isDouble = true;
        ++pos_;
        while (pos_ < src_.size() && isDigit(src_[pos_])) {
          ++pos_;
        }
      }
      if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
        std::size_t p = pos_ + 1;
        if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) {
          ++p;
        }
        if (p < src_.size() && isDigit(src_[p])) {
          isDouble = true;
          pos_ = p;
          while (pos_ < src_.size() && isDigit(src_[pos_])) {
            ++pos_;
          }
        }
      }
      token.kind = isDouble ? Token::Kind::Double : Token::Kind::Int;
    }
    token.text = src_.substr(start, pos_ - start);
    if (token.kind == Token::Kind::Int && pos_ < src_.size() && (src_[pos_] == 'u' || src_[pos_] == 'U')) {
      token.kind = Token::Kind::Uint;
      ++pos_;
    }
    if (pos_ < src_.size() && (isIdentStart(src_[pos_]) || isDigit(src_[pos_]))) {
      throw SyntaxError(pos_, "invalid number literal");
    }
  }

  std::string string(bool raw) {
    const char quote = src_[pos_];
    const bool triple = src_.compare(pos_, 3, std::string(3, quote)) == 0;
    const std::size_t start = pos_;
    pos_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (pos_ >= src_.size()) {
        throw SyntaxError(start, "unterminated string literal");
      }
      const char c = src_[pos_];
      if (triple ? src_.compare(pos_, 3, std::string(3, quote)) == 0 : c == quote) {
        pos_ += triple ? 3 : 1;
        return out;
      }
      if (!triple && (c == '\n' || c == '\r')) {
        throw SyntaxError(pos_, "line break in string literal");
      }
      if (c == '\\' && !raw) {
        escape(out);
      } else {
        out += c;
        ++pos_;
      }
    }
  }

  void escape(std::string& out) {
    const std::size_t at = pos_++;
    if (pos_ >= src_.size()) {
      throw SyntaxError(at, "unterminated escape sequence");
    }
    const char c = src_[pos_++];
    switch (c) {
      case 'a':
        out += '\a';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'v':
        out += '\v';
        return;
      case '\\':
      case '\'':
      case '"':
      case '`':
      case '?':
        out += c;
        return;
      case 'x':
      case 'X':
        appendUtf8(out, hexDigits(2, at), at);
        return;
      case 'u':
        appendUtf8(out, hexDigits(4, at), at);
        return;
      case 'U':
        appendUtf8(out, hexDigits(8, at), at);
        return;
      default:
        if (c >= '0' && c <= '3' && pos_ + 1 < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7' &&
            src_[pos_ + 1] >= '0' && src_[pos_ + 1] <= '7') {
          const auto cp =
              static_cast<std::uint32_t>((c - '0') * 64 + (src_[pos_] - '0') * 8 + (src_[pos_ + 1] - '0'));
          pos_ += 2;
          appendUtf8(out, cp, at);
          return;
        }
        throw SyntaxError(at, std::string("invalid escape sequence '\\") + c + "'");
    }
  }

  std::uint32_t hexDigits(int count, std::size_t at) {
    std::uint32_t cp = 0;
    for (int i = 0; i < count; ++i) {
      if (pos_ >= src_.size() || !isHex(src_[pos_])) {
        throw SyntaxError(at, "invalid escape sequence");
      }
      cp = cp * 16 + static_cast<std::uint32_t>(std::stoul(std::string(1, src_[pos_++]), nullptr, 16));
    }
    return cp;
  }

  const std::string& src_;
  std::size_t pos_ = 0;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  NodePtr run() {
    NodePtr root = expr();
    if (peek().kind != Token::Kind::End) {
      throw SyntaxError(peek().offset, "unexpected '" + peek().text + "'");
    }
    return root;
  }

 private:
  // Counts the nesting of the recursive descent so that a hostile rule cannot exhaust the stack.
  struct Depth {
    explicit Depth(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxDepth) {
        throw SyntaxError(parser.peek().offset, "expression nesting exceeds " + std::to_string(kMaxDepth));
      }
    }
    ~Depth() { --parser.depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;
    Parser& parser;
  };

  const Token& peek() const { return tokens_[pos_]; }
  bool isPunct(const char* text) const { return peek().kind == Token::Kind::Punct && peek().text == text; }
  bool accept(const char* text) {
    if (isPunct(text)) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(const char* text) {
    if (!accept(text)) {
      const std::string found = peek().kind == Token::Kind::End ? "end of input" : "'" + peek().text + "'";
      throw SyntaxError(peek().offset, std::string("expected '") + text + "', found " + found);
    }
  }

  static NodePtr make(Node::Kind kind, std::string name, std::vector<NodePtr> args, std::size_t offset) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->name = std::move(name);
    node->args = std::move(args);
    node->offset = offset;
    return measured(std::move(node));
  }

  // Sets the node's height and refuses a tree too tall to evaluate (and destroy) recursively.
  static NodePtr measured(std::shared_ptr<Node> node) {
    for (const auto& arg : node->args) {
      node->height = std::max(node->height, arg->height + 1);
    }
    if (node->height > kMaxHeight) {
      throw SyntaxError(node->offset, "expression nesting exceeds " + std::to_string(kMaxHeight));
    }
    return node;
  }

  NodePtr expr() {
    Depth depth(*this);
    NodePtr condition = logical("||");
    if (!isPunct("?")) {
      return condition;
    }
    const std::size_t at = peek().offset;
    ++pos_;
    NodePtr whenTrue = logical("||");
    expect(":");
    NodePtr whenFalse = expr();
    return make(Node::Kind::Conditional, "?:", {condition, whenTrue, whenFalse}, at);
  }

  NodePtr logical(const char* op) {
    const bool isOr = std::string(op) == "||";
    NodePtr left = isOr ? logical("&&") : relation();
    while (isPunct(op)) {
      const std::size_t at = peek().offset;
      ++pos_;
      NodePtr right = isOr ? logical("&&") : relation();
      left = make(Node::Kind::Binary, op, {left, right}, at);
    }
    return left;
  }

  NodePtr relation() {
    NodePtr left = addition();
    for (;;) {
      const Token& t = peek();
      const bool relop =
          (t.kind == Token::Kind::Punct && (t.text == "<" || t.text == "<=" || t.text == ">" ||
                                            t.text == ">=" || t.text == "==" || t.text == "!=")) ||
          (t.kind == Token::Kind::Ident && t.text == "in");
      if (!relop) {
        return left;
      }
      const std::string op = t.text;
      const std::size_t at = t.offset;
      ++pos_;
      left = make(Node::Kind::Binary, op, {left, addition()}, at);
    }
  }

  NodePtr addition() {
    NodePtr left = multiplication();
    while (isPunct("+") || isPunct("-")) {
      const std::string op = peek().text;
      const std::size_t at = peek().offset;
      ++pos_;
      left = make(Node::Kind::Binary, op, {left, multiplication()}, at);
    }
    return left;
  }

  NodePtr multiplication() {
    NodePtr left = unary();
    while (isPunct("*") || isPunct("/") || isPunct("%")) {
      const std::string op = peek().text;
      const std::size_t at = peek().offset;
      ++pos_;
      left = make(Node::Kind::Binary, op, {left, unary()}, at);
    }
    return left;
  }

  NodePtr unary() {
    Depth depth(*this);
    const std::size_t at = peek().offset;
    if (accept("!")) {
      return make(Node::Kind::Unary, "!", {unary()}, at);
    }
    if (accept("-")) {
      // A negated integer literal is one literal, so that -9223372036854775808 exists.
      if (peek().kind == Token::Kind::Int) {
        return member(intLiteral(true));
      }
      return make(Node::Kind::Unary, "-", {unary()}, at);
    }
    return member(primary());
  }

  NodePtr member(NodePtr operand) {
    for (;;) {
      const std::size_t at = peek().offset;
      if (accept(".")) {
        if (peek().kind != Token::Kind::Ident) {
          throw SyntaxError(peek().offset, "expected a field or method name after '.'");
        }
        std::string name = peek().text;
        if (name == "in" || kReserved.count(name) != 0) {
          throw SyntaxError(peek().offset, "reserved identifier '" + name + "'");
        }
        ++pos_;
        if (accept("(")) {
          std::vector<NodePtr> args = {operand};
          for (auto& arg : arguments(")")) {
            args.push_back(std::move(arg));
          }
          operand = receiverCall(std::move(name), std::move(args), at);
        } else {
          operand = make(Node::Kind::Select, std::move(name), {operand}, at);
        }
      } else if (accept("[")) {
        NodePtr index = expr();
        expect("]");
        operand = make(Node::Kind::Index, "[]", {operand, index}, at);
      } else {
        return operand;
      }
    }
  }

  NodePtr receiverCall(std::string name, std::vector<NodePtr> args, std::size_t at) {
    const bool twoArgMacro = name == "all" || name == "exists" || name == "exists_one" || name == "filter";
    const bool mapMacro = name == "map" && (args.size() == 3 || args.size() == 4);
    if ((twoArgMacro && args.size() == 3) || mapMacro) {
      if (args[1]->kind != Node::Kind::Ident) {
        throw SyntaxError(args[1]->offset, name + "() macro: argument must be a simple name");
      }
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::Comprehension;
      node->name = std::move(name);
      node->iterVar = args[1]->name;
      node->args.push_back(args[0]);
      node->args.insert(node->args.end(), args.begin() + 2, args.end());
      node->offset = at;
      return measured(std::move(node));
    }
    if (twoArgMacro) {
      throw SyntaxError(at, name + "() macro takes two arguments");
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::Call;
    node->name = std::move(name);
    node->args = std::move(args);
    node->receiverStyle = true;
    node->offset = at;
    return measured(std::move(node));
  }

  std::vector<NodePtr> arguments(const char* close) {
    std::vector<NodePtr> args;
    if (accept(close)) {
      return args;
    }
    for (;;) {
      args.push_back(expr());
      if (accept(close)) {
        return args;
      }
      expect(",");
      if (std::string(close) == "]" && accept(close)) {  // a trailing comma in a list literal
        return args;
      }
    }
  }

  NodePtr intLiteral(bool negative) {
    const Token& t = peek();
    const bool hex = t.text.size() > 2 && (t.text[1] == 'x' || t.text[1] == 'X');
    const std::string digits = hex ? t.text.substr(2) : t.text;
    errno = 0;
    const unsigned long long magnitude = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
    auto node = std::make_shared<Node>();
    node->offset = t.offset;
    if (t.kind == Token::Kind::Uint) {
      if (errno == ERANGE) {
        throw SyntaxError(t.offset, "uint literal out of range");
      }
      node->value = Value::unsignedInteger(magnitude);
    } else {
      const unsigned long long limit = negative ? 9223372036854775808ULL : 9223372036854775807ULL;
      if (errno == ERANGE || magnitude > limit) {
        throw SyntaxError(t.offset, "int literal out of range");
      }
      node->value = Value::integer(negative ? static_cast<std::int64_t>(0 - magnitude)
                                            : static_cast<std::int64_t>(magnitude));
    }
    ++pos_;
    return node;
  }

  NodePtr literal(Value value) {
    auto node = std::make_shared<Node>();
    node->value = std::move(value);
    node->offset = peek().offset;
    ++pos_;
    return node;
  }

  NodePtr primary() {
    Depth depth(*this);
    const Token& t = peek();
    const std::size_t at = t.offset;
    switch (t.kind) {
      case Token::Kind::Int:
        return intLiteral(false);
      case Token::Kind::Uint:
        return intLiteral(false);
      case Token::Kind::Double:
        return literal(Value::floating(std::strtod(t.text.c_str(), nullptr)));
      case Token::Kind::String:
        return literal(Value::string(t.text));
      case Token::Kind::Ident:
        return identifier();
      case Token::Kind::End:
        throw SyntaxError(at, "unexpected end of input");
      case Token::Kind::Punct:
        break;
    }
    if (accept("(")) {
      NodePtr inner = expr();
      expect(")");
      return inner;
    }
    if (accept("[")) {
      return make(Node::Kind::CreateList, "[]", arguments("]"), at);
    }
    if (accept("{")) {
      std::vector<NodePtr> args;
      while (!accept("}")) {
        args.push_back(expr());
        expect(":");
        args.push_back(expr());
        if (!accept(",")) {
          expect("}");
          break;
        }
      }
      return make(Node::Kind::CreateMap, "{}", std::move(args), at);
    }
    if (accept(".") && peek().kind == Token::Kind::Ident) {  // a leading dot names the root scope
      return identifier();
    }
    throw SyntaxError(at, "unexpected '" + t.text + "'");
  }

  NodePtr identifier() {
    const Token& t = peek();
    const std::size_t at = t.offset;
    const std::string name = t.text;
    if (name == "true" || name == "false") {
      return literal(Value::boolean(name == "true"));
    }
    if (name == "null") {
      return literal(Value());
    }
    if (name == "in" || kReserved.count(name) != 0) {
      throw SyntaxError(at, "reserved identifier '" + name + "'");
    }
    ++pos_;
    if (!accept("(")) {
      return make(Node::Kind::Ident, name, {}, at);
    }
    std::vector<NodePtr> args = arguments(")");
    if (name == "has") {
      if (args.size() != 1 || args[0]->kind != Node::Kind::Select) {
        throw SyntaxError(at, "invalid argument to has() macro");
      }
      return make(Node::Kind::Has, args[0]->name, {args[0]->args[0]}, at);
    }
    return make(Node::Kind::Call, name, std::move(args), at);
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

std::string position(const std::string& source, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "<input>:" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

Expected<NodePtr, std::string> parse(const std::string& source) {
  try {
    return Parser(Lexer(source).run()).run();
  } catch (const SyntaxError& e) {
    return "ERROR: " + position(source, e.offset) + ": Syntax error: " + e.what();
  } catch (const std::exception& e) {  // e.g. bad_alloc on an absurd input
    return std::string("ERROR: <input>: ") + e.what();
  }
}

}  // namespace virtsnap::apiserver::cel
