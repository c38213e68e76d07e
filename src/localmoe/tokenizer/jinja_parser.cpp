// Recursive-descent parser for the Jinja subset (see jinja_ast.h); the
// lexing is in jinja_lexer.cpp.
// Operator precedence follows Jinja 3: conditional < or < and < not <
// comparisons < + - < ~ < * / // % < ** < unary, with filters and tests
// binding to the operand on their left.

#include <set>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/jinja_ast.h"
#include "localmoe/tokenizer/jinja_lexer.h"

namespace localmoe::jinja {

namespace {

// Nesting limits: deeper input is rejected rather than risking the stack.
constexpr int kMaxExpressionDepth = 128;
constexpr int kMaxBlockDepth = 128;

[[noreturn]] void fail(int line, const std::string& message) {
  syntax_error(line, message);
}

// ---------------------------------------------------------------- expression parser

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, int line) : tokens_(std::move(tokens)), line_(line) {}

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool at_end() const { return peek().kind == Token::Kind::kEnd; }
  bool is_op(const char* op, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kOp && peek(ahead).text == op;
  }
  bool is_name(const char* name, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kName && peek(ahead).text == name;
  }
  Token next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  void expect_op(const char* op) {
    if (!is_op(op))
      fail(line_, std::string("expected '") + op + "', found '" + describe(peek()) + "'");
    ++pos_;
  }
  std::string expect_name() {
    if (peek().kind != Token::Kind::kName)
      fail(line_, "expected a name, found '" + describe(peek()) + "'");
    return next().text;
  }
  void expect_end() {
    if (!at_end()) fail(line_, "unexpected '" + describe(peek()) + "'");
  }
  static std::string describe(const Token& t) {
    return t.kind == Token::Kind::kEnd ? "end of tag" : t.text;
  }

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
      if (t.kind == Token::Kind::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                         t.text == ">" || t.text == "<=" || t.text == ">=")) {
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
    if (++depth_ > kMaxBlockDepth)
      fail(chunks_.empty() ? 1 : chunks_[std::min(index_, chunks_.size() - 1)].line,
           "blocks nested too deeply");
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
      fail(chunks_.empty() ? 1 : chunks_.back().line,
           "unexpected end of template, expected '" + expected + "'");
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
