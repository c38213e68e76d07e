// Lexer and recursive-descent parser for the Jinja subset (see jinja_ast.h).
// Operator precedence follows Jinja 3: conditional < or < and < not <
// comparisons < + - < ~ < * / // % < ** < unary, with filters and tests
// binding to the operand on their left.

#include <cctype>
#include <set>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/jinja_ast.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe::jinja {

namespace {

// Nesting limits: deeper input is rejected rather than risking the stack.
constexpr int kMaxExpressionDepth = 128;
constexpr int kMaxBlockDepth = 128;

// ---------------------------------------------------------------- template lexer

struct Chunk {
  enum class Kind { kText, kOutput, kStatement };
  Kind kind;
  std::string text;
  int line;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

[[noreturn]] void fail(int line, const std::string& message) {
  throw make_error(ErrorKind::kInvalidArgument, "line ", line, ": ", message);
}

int count_lines(const std::string& s, std::size_t from, std::size_t to) {
  int n = 0;
  for (std::size_t i = from; i < to && i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

// Position of the closing delimiter of a tag opened before `pos`, skipping
// string literals and bracketed sub-expressions (so "{{ {'a': {}} }}" ends
// at the last "}}", as Jinja's balancing lexer does).
std::size_t find_tag_end(const std::string& src, std::size_t pos, char close, int line) {
  char quote = 0;
  int depth = 0;
  for (std::size_t i = pos; i < src.size(); ++i) {
    const char c = src[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (depth == 0 && c == close && i + 1 < src.size() && src[i + 1] == '}') {
      return i;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  fail(line, "unclosed tag");
}

std::vector<Chunk> split_template(const std::string& src, const TemplateOptions& options) {
  std::vector<Chunk> chunks;
  std::size_t pos = 0;
  int line = 1;
  bool at_line_start = true;
  while (pos <= src.size()) {
    std::size_t tag = pos;
    while (true) {
      tag = src.find('{', tag);
      if (tag == std::string::npos || tag + 1 >= src.size()) {
        tag = std::string::npos;
        break;
      }
      const char next = src[tag + 1];
      if (next == '{' || next == '%' || next == '#') break;
      ++tag;
    }
    std::string text = src.substr(pos, tag == std::string::npos ? std::string::npos : tag - pos);
    if (tag == std::string::npos) {
      if (!text.empty()) chunks.push_back({Chunk::Kind::kText, text, line});
      break;
    }
    const char kind = src[tag + 1];
    const char open_mod = tag + 2 < src.size() ? src[tag + 2] : 0;
    const bool is_block = kind == '%' || kind == '#';
    if (open_mod == '-') {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (is_block && options.lstrip_blocks && open_mod != '+') {
      const std::size_t nl = text.rfind('\n');
      const std::size_t tail = nl == std::string::npos ? 0 : nl + 1;
      const bool line_start = nl != std::string::npos || at_line_start;
      if (line_start && text.find_first_not_of(" \t", tail) == std::string::npos) text.erase(tail);
    }
    const int text_line = line;
    line += count_lines(src, pos, tag);
    if (!text.empty()) chunks.push_back({Chunk::Kind::kText, text, text_line});
    const std::size_t inner_begin = tag + 2 + ((open_mod == '-' || open_mod == '+') ? 1 : 0);
    std::size_t end;
    if (kind == '#') {
      end = src.find("#}", inner_begin);
      if (end == std::string::npos) fail(line, "unclosed comment");
    } else {
      end = find_tag_end(src, inner_begin, kind == '{' ? '}' : '%', line);
    }
    const char close_mod = end > inner_begin ? src[end - 1] : 0;
    const std::size_t inner_end = (close_mod == '-' || close_mod == '+') ? end - 1 : end;
    if (kind != '#') {
      chunks.push_back({kind == '{' ? Chunk::Kind::kOutput : Chunk::Kind::kStatement,
                        src.substr(inner_begin, inner_end - std::min(inner_end, inner_begin)), line});
    }
    line += count_lines(src, tag, end + 2);
    pos = end + 2;
    if (close_mod == '-') {
      while (pos < src.size() && is_space(src[pos])) {
        line += src[pos] == '\n';
        ++pos;
      }
    } else if (is_block && options.trim_blocks && close_mod != '+') {
      if (pos < src.size() && src[pos] == '\n') {
        ++pos;
        ++line;
      } else if (src.compare(pos, 2, "\r\n") == 0) {
        pos += 2;
        ++line;
      }
    }
    at_line_start = pos == 0 || src[pos - 1] == '\n';
    if (pos == src.size()) break;
  }
  return chunks;
}

// ---------------------------------------------------------------- expression lexer

struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // name, operator, or decoded string
  int64_t int_value = 0;
  double float_value = 0.0;
};

void append_escape(const std::string& s, std::size_t& i, std::string& out, int line) {
  const char c = s[i];
  auto hex_code = [&](int digits) {
    if (i + digits >= s.size()) fail(line, "truncated escape in string literal");
    const std::string hex = s.substr(i + 1, digits);
    for (char h : hex)
      if (!std::isxdigit(static_cast<unsigned char>(h))) fail(line, "bad escape in string literal");
    i += digits;
    const auto cp = static_cast<char32_t>(std::stoul(hex, nullptr, 16));
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(line, "escape is not a Unicode scalar value");
    utf8_append(out, cp);
  };
  switch (c) {
    case 'n': out.push_back('\n'); break;
    case 't': out.push_back('\t'); break;
    case 'r': out.push_back('\r'); break;
    case '\\': out.push_back('\\'); break;
    case '\'': out.push_back('\''); break;
    case '"': out.push_back('"'); break;
    case '0': out.push_back('\0'); break;
    case 'a': out.push_back('\a'); break;
    case 'b': out.push_back('\b'); break;
    case 'f': out.push_back('\f'); break;
    case 'v': out.push_back('\v'); break;
    case '\n': break;  // line continuation
    case 'x': hex_code(2); break;
    case 'u': hex_code(4); break;
    case 'U': hex_code(8); break;
    default:  // Python keeps unknown escapes verbatim
      out.push_back('\\');
      out.push_back(c);
  }
}

std::vector<Token> tokenize_expression(const std::string& s, int line) {
  static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                               "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    Token t;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      t.kind = Token::Kind::kName;
      t.text = s.substr(start, i - start);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      const std::size_t start = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      bool is_float = false;
      if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        is_float = true;
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        std::size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          is_float = true;
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      std::string digits;
      for (std::size_t k = start; k < i; ++k)
        if (s[k] != '_') digits.push_back(s[k]);
      if (is_float) {
        t.kind = Token::Kind::kFloat;
        t.float_value = std::strtod(digits.c_str(), nullptr);  // 1e999 is inf, as in Python
      } else {
        t.kind = Token::Kind::kInt;
        try {
          t.int_value = std::stoll(digits);
        } catch (const std::out_of_range&) {
          fail(line, "integer literal out of range");
        }
      }
    } else if (c == '\'' || c == '"') {
      ++i;
      t.kind = Token::Kind::kString;
      while (true) {
        if (i >= s.size()) fail(line, "unterminated string literal");
        if (s[i] == c) break;
        if (s[i] == '\\' && i + 1 < s.size()) {
          ++i;
          append_escape(s, i, t.text, line);
          ++i;
          continue;
        }
        t.text.push_back(s[i++]);
      }
      ++i;
    } else {
      bool found = false;
      for (const char* op : kOps) {
        const std::size_t n = std::char_traits<char>::length(op);
        if (s.compare(i, n, op) == 0) {
          t.kind = Token::Kind::kOp;
          t.text = op;
          i += n;
          found = true;
          break;
        }
      }
      if (!found) fail(line, std::string("unexpected character '") + c + "'");
    }
    tokens.push_back(std::move(t));
  }
  tokens.push_back(Token{});
  return tokens;
}

// ---------------------------------------------------------------- expression parser

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, int line) : tokens_(std::move(tokens)), line_(line) {}

  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  bool at_end() const { return peek().kind == Token::Kind::kEnd; }
  bool is_op(const char* op, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kOp && peek(ahead).text == op;
  }
  bool is_name(const char* name, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kName && peek(ahead).text == name;
  }
  Token next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(line_, std::string("expected '") + op + "', found '" + describe(peek()) + "'");
    ++pos_;
  }
  std::string expect_name() {
    if (peek().kind != Token::Kind::kName) fail(line_, "expected a name, found '" + describe(peek()) + "'");
    return next().text;
  }
  void expect_end() {
    if (!at_end()) fail(line_, "unexpected '" + describe(peek()) + "'");
  }
  static std::string describe(const Token& t) { return t.kind == Token::Kind::kEnd ? "end of tag" : t.text; }

  ExprPtr parse_expression() { return parse_conditional(); }

  // The iterable of a for loop: a tuple without conditional expressions.
  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      next();
      e = binary("or", std::move(e), parse_and());
    }
    return e;
  }

 private:
  // Counts recursion through the grammar; too deep is a syntax error.
  struct DepthGuard {
    explicit DepthGuard(ExprParser& p) : parser(p) {
      if (++parser.depth_ > kMaxExpressionDepth) fail(parser.line_, "expression nested too deeply");
    }
    ~DepthGuard() { --parser.depth_; }
    ExprParser& parser;
  };

  ExprPtr make(Expr::Kind kind) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line_;
    return e;
  }
  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::kBinary);
    e->name = op;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_conditional() {
    const DepthGuard guard(*this);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      next();
      auto c = make(Expr::Kind::kConditional);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      if (is_name("else")) {
        next();
        c->args.push_back(parse_conditional());
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      next();
      e = binary("and", std::move(e), parse_not());
    }
    return e;
  }
  ExprPtr parse_not() {
    const DepthGuard guard(*this);
    if (is_name("not")) {
      next();
      auto e = make(Expr::Kind::kUnary);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    while (true) {
      const Token& t = peek();
      if (t.kind == Token::Kind::kOp &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
        const std::string op = next().text;
        e = binary(op, std::move(e), parse_math1());
      } else if (is_name("in")) {
        next();
        e = binary("in", std::move(e), parse_math1());
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        e = binary("not in", std::move(e), parse_math1());
      } else {
        return e;
      }
    }
  }
  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), parse_concat());
    }
    return e;
  }
  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      next();
      e = binary("~", std::move(e), parse_math2());
    }
    return e;
  }
  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), parse_pow());
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      next();
      e = binary("**", std::move(e), parse_unary(true));
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    const DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = make(Expr::Kind::kUnary);
      e->name = next().text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_postfix(parse_primary());
    }
    return with_filter ? parse_filters(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token t = next();
    switch (t.kind) {
      case Token::Kind::kName: {
        auto e = make(Expr::Kind::kLiteral);
        if (t.text == "true" || t.text == "True") {
          e->literal = Value(true);
        } else if (t.text == "false" || t.text == "False") {
          e->literal = Value(false);
        } else if (t.text == "none" || t.text == "None") {
          e->literal = Value::none();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        return e;
      }
      case Token::Kind::kString: {
        std::string s = t.text;
        while (peek().kind == Token::Kind::kString) s += next().text;  // adjacent literals join
        auto e = make(Expr::Kind::kLiteral);
        e->literal = Value(std::move(s));
        return e;
      }
      case Token::Kind::kInt: {
        auto e = make(Expr::Kind::kLiteral);
        e->literal = Value(t.int_value);
        return e;
      }
      case Token::Kind::kFloat: {
        auto e = make(Expr::Kind::kLiteral);
        e->literal = Value(t.float_value);
        return e;
      }
      case Token::Kind::kOp:
        if (t.text == "(") {
          if (is_op(")")) {
            next();
            return make(Expr::Kind::kList);  // empty tuple
          }
          ExprPtr first = parse_expression();
          if (is_op(")")) {
            next();
            return first;
          }
          auto tuple = make(Expr::Kind::kList);
          tuple->args.push_back(std::move(first));
          while (is_op(",")) {
            next();
            if (is_op(")")) break;
            tuple->args.push_back(parse_expression());
          }
          expect_op(")");
          return tuple;
        }
        if (t.text == "[") {
          auto list = make(Expr::Kind::kList);
          while (!is_op("]")) {
            list->args.push_back(parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("]");
          return list;
        }
        if (t.text == "{") {
          auto dict = make(Expr::Kind::kDict);
          while (!is_op("}")) {
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
            if (!is_op(",")) break;
            next();
          }
          expect_op("}");
          return dict;
        }
        break;
      case Token::Kind::kEnd: break;
    }
    fail(line_, "unexpected '" + describe(t) + "'");
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (peek().kind == Token::Kind::kName && is_op("=", 1)) {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        call.args.push_back(parse_expression());
      }
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        next();
        if (peek().kind == Token::Kind::kInt) {
          auto item = make(Expr::Kind::kGetItem);
          item->args.push_back(std::move(e));
          auto index = make(Expr::Kind::kLiteral);
          index->literal = Value(next().int_value);
          item->args.push_back(std::move(index));
          e = std::move(item);
          continue;
        }
        auto attr = make(Expr::Kind::kGetAttr);
        attr->name = expect_name();
        attr->args.push_back(std::move(e));
        e = std::move(attr);
      } else if (is_op("[")) {
        next();
        ExprPtr parts[3];
        int colons = 0;
        while (!is_op("]")) {
          if (is_op(":")) {
            next();
            if (++colons > 2) fail(line_, "too many ':' in subscript");
            continue;
          }
          if (parts[colons]) fail(line_, "malformed subscript");
          parts[colons] = parse_expression();
        }
        expect_op("]");
        if (colons == 0) {
          if (!parts[0]) fail(line_, "empty subscript");
          auto item = make(Expr::Kind::kGetItem);
          item->args.push_back(std::move(e));
          item->args.push_back(std::move(parts[0]));
          e = std::move(item);
        } else {
          auto slice = make(Expr::Kind::kSlice);
          slice->args.push_back(std::move(e));
          for (auto& p : parts) slice->args.push_back(std::move(p));
          e = std::move(slice);
        }
      } else if (is_op("(")) {
        auto call = make(Expr::Kind::kCall);
        call->args.push_back(std::move(e));
        parse_call_args(*call);
        e = std::move(call);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filters(ExprPtr e) {
    static const std::set<std::string> kNotTestArg = {"else", "or", "and", "not", "in", "is", "if"};
    while (true) {
      if (is_op("|")) {
        next();
        auto f = make(Expr::Kind::kFilter);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        next();
        auto t = make(Expr::Kind::kTest);
        if (is_name("not")) {
          next();
          t->negated = true;
        }
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if (peek().kind == Token::Kind::kString || peek().kind == Token::Kind::kInt ||
                   peek().kind == Token::Kind::kFloat ||
                   (peek().kind == Token::Kind::kName && !kNotTestArg.contains(peek().text))) {
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        auto call = make(Expr::Kind::kCall);
        call->args.push_back(std::move(e));
        parse_call_args(*call);
        e = std::move(call);
      } else {
        return e;
      }
    }
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int line_;
  int depth_ = 0;
};

// ---------------------------------------------------------------- statements

class TemplateParser {
 public:
  explicit TemplateParser(std::vector<Chunk> chunks) : chunks_(std::move(chunks)) {}

  NodeList parse_all() {
    std::string end;
    NodeList body = parse_body({}, end);
    return body;
  }

 private:
  // Parses nodes until a statement whose keyword is in `ends`; returns it
  // in `end` along with a parser positioned after its keyword.
  NodeList parse_body(const std::set<std::string>& ends, std::string& end) {
    if (++depth_ > kMaxBlockDepth) fail(chunks_.empty() ? 1 : chunks_[std::min(index_, chunks_.size() - 1)].line, "blocks nested too deeply");
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    NodeList nodes;
    while (index_ < chunks_.size()) {
      const Chunk& chunk = chunks_[index_++];
      if (chunk.kind == Chunk::Kind::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->line = chunk.line;
        n->text = chunk.text;
        nodes.push_back(std::move(n));
        continue;
      }
      ExprParser p(tokenize_expression(chunk.text, chunk.line), chunk.line);
      if (chunk.kind == Chunk::Kind::kOutput) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = chunk.line;
        n->expr = p.parse_expression();
        p.expect_end();
        nodes.push_back(std::move(n));
        continue;
      }
      const std::string keyword = p.expect_name();
      if (ends.contains(keyword)) {
        end = keyword;
        current_ = std::make_unique<ExprParser>(std::move(p));
        return nodes;
      }
      nodes.push_back(parse_statement(keyword, p, chunk.line));
    }
    if (!ends.empty()) {
      std::string expected;
      for (const auto& e : ends) expected += (expected.empty() ? "" : " or ") + e;
      fail(chunks_.empty() ? 1 : chunks_.back().line, "unexpected end of template, expected '" + expected + "'");
    }
    return nodes;
  }

  std::unique_ptr<Node> parse_statement(const std::string& keyword, ExprParser& p, int line) {
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (keyword == "if") {
      n->kind = Node::Kind::kIf;
      ExprPtr cond = p.parse_expression();
      p.expect_end();
      while (true) {
        NodeList body = parse_body({"elif", "else", "endif"}, end);
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (end == "elif") {
          cond = current_->parse_expression();
          current_->expect_end();
          continue;
        }
        current_->expect_end();
        if (end == "else") {
          n->else_body = parse_body({"endif"}, end);
          current_->expect_end();
        }
        break;
      }
    } else if (keyword == "for") {
      n->kind = Node::Kind::kFor;
      const bool paren = p.is_op("(");
      if (paren) p.next();
      n->targets.push_back(p.expect_name());
      while (p.is_op(",")) {
        p.next();
        n->targets.push_back(p.expect_name());
      }
      if (paren) p.expect_op(")");
      if (!p.is_name("in")) fail(line, "expected 'in' in for loop");
      p.next();
      n->expr = p.parse_or();
      if (p.is_name("if")) {
        p.next();
        n->filter = p.parse_expression();
      }
      if (p.is_name("recursive")) fail(line, "recursive loops are not supported");
      p.expect_end();
      n->body = parse_body({"else", "endfor"}, end);
      current_->expect_end();
      if (end == "else") {
        n->else_body = parse_body({"endfor"}, end);
        current_->expect_end();
      }
    } else if (keyword == "set") {
      n->text = p.expect_name();
      if (p.is_op(".")) {
        p.next();
        n->attr = p.expect_name();
      }
      if (p.is_op("=")) {
        p.next();
        n->kind = Node::Kind::kSet;
        n->expr = p.parse_expression();
        p.expect_end();
      } else {
        if (!n->attr.empty()) fail(line, "block set cannot assign an attribute");
        p.expect_end();
        n->kind = Node::Kind::kSetBlock;
        n->body = parse_body({"endset"}, end);
        current_->expect_end();
      }
    } else if (keyword == "macro") {
      n->kind = Node::Kind::kMacro;
      n->text = p.expect_name();
      p.expect_op("(");
      while (!p.is_op(")")) {
        std::string param = p.expect_name();
        ExprPtr def;
        if (p.is_op("=")) {
          p.next();
          def = p.parse_expression();
        }
        n->params.emplace_back(std::move(param), std::move(def));
        if (!p.is_op(",")) break;
        p.next();
      }
      p.expect_op(")");
      p.expect_end();
      n->body = parse_body({"endmacro"}, end);
      current_->expect_end();
    } else if (keyword == "break" || keyword == "continue") {
      n->kind = keyword == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      p.expect_end();
    } else if (keyword == "generation") {
      n->kind = Node::Kind::kBlock;
      p.expect_end();
      n->body = parse_body({"endgeneration"}, end);
      current_->expect_end();
    } else {
      fail(line, "unknown tag '" + keyword + "'");
    }
    return n;
  }

  std::vector<Chunk> chunks_;
  std::size_t index_ = 0;
  std::unique_ptr<ExprParser> current_;  // parser of the statement that ended the last body
  int depth_ = 0;
};

}  // namespace

NodeList parse_template(const std::string& source, const TemplateOptions& options) {
  TemplateParser parser(split_template(source, options));
  return parser.parse_all();
}

}  // namespace localmoe::jinja
