#include "localmoe/tokenizer/jinja_interpreter.h"

#include <cmath>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/jinja_builtins.h"

namespace localmoe::jinja {

namespace {

constexpr int kMaxCallDepth = 64;

enum class Flow { kNormal, kBreak, kContinue };

// Depth of nested macro calls on this thread: a recursive macro fails with
// an error instead of exhausting the stack.
thread_local int macro_depth = 0;

// Work budget of one render (statements run, loop iterations) and output
// cap: a hostile template fails instead of hanging or exhausting memory.
constexpr int64_t kMaxSteps = 10'000'000;
constexpr std::size_t kMaxOutputBytes = 64u << 20;
thread_local int64_t render_steps = 0;

struct MacroDepthGuard {
  MacroDepthGuard() { ++macro_depth; }
  ~MacroDepthGuard() { --macro_depth; }
};

[[noreturn]] void fail(int line, const std::string& message) {
  throw make_error(ErrorKind::kInvalidArgument, "line ", line, ": ", message);
}

class Renderer {
 public:
  explicit Renderer(std::shared_ptr<ValueDict> globals) {
    frames_.push_back(std::move(globals));
    frames_.push_back(std::make_shared<ValueDict>());  // the template's own variables
  }
  explicit Renderer(std::vector<std::shared_ptr<ValueDict>> frames) : frames_(std::move(frames)) {}

  Flow exec(const NodeList& nodes, std::string& out) {
    for (const auto& node : nodes) {
      const Flow flow = exec(*node, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

 private:
  Value lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
      if (const Value* v = (*it)->find(name)) return *v;
    return Value();
  }

  Flow exec(const Node& node, std::string& out) {
    if (++render_steps > kMaxSteps) fail(node.line, "template exceeds its work budget");
    if (out.size() > kMaxOutputBytes) fail(node.line, "template output exceeds its size limit");
    switch (node.kind) {
      case Node::Kind::kText: out += node.text; return Flow::kNormal;
      case Node::Kind::kOutput: out += eval(*node.expr).str(); return Flow::kNormal;
      case Node::Kind::kIf:
        for (const auto& [cond, body] : node.branches)
          if (eval(*cond).truthy()) return exec(body, out);
        return exec(node.else_body, out);
      case Node::Kind::kFor: return exec_for(node, out);
      case Node::Kind::kSet: {
        Value value = eval(*node.expr);
        if (node.attr.empty()) {
          frames_.back()->set(node.text, std::move(value));
          return Flow::kNormal;
        }
        const Value target = lookup(node.text);
        if (!target.is_dict() || !target.as_dict().is_namespace)
          fail(node.line, "cannot assign attribute '" + node.attr + "' on '" + node.text +
                              "': not a namespace");
        target.as_dict().set(node.attr, std::move(value));
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string captured;
        exec(node.body, captured);
        frames_.back()->set(node.text, Value(std::move(captured)));
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        frames_.back()->set(node.text, make_macro(node));
        return Flow::kNormal;
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
      case Node::Kind::kBlock: return exec(node.body, out);
    }
    return Flow::kNormal;
  }

  Flow exec_for(const Node& node, std::string& out) {
    ValueList items;
    try {
      items = iterate(eval(*node.expr));
    } catch (const Error& e) {
      fail(node.line, e.message());
    }
    frames_.push_back(std::make_shared<ValueDict>());
    auto bind = [&](const Value& item) {
      if (node.targets.size() == 1) {
        frames_.back()->set(node.targets[0], item);
        return;
      }
      const ValueList parts = iterate(item);
      if (parts.size() != node.targets.size())
        fail(node.line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                            std::to_string(node.targets.size()) + " loop variables");
      for (std::size_t i = 0; i < parts.size(); ++i) frames_.back()->set(node.targets[i], parts[i]);
    };
    if (node.filter) {
      ValueList kept;
      for (const auto& item : items) {
        bind(item);
        if (eval(*node.filter).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      const auto& item = items[static_cast<std::size_t>(i)];
      auto loop = std::make_shared<ValueDict>();
      loop->set("index", Value(i + 1));
      loop->set("index0", Value(i));
      loop->set("revindex", Value(n - i));
      loop->set("revindex0", Value(n - i - 1));
      loop->set("first", Value(i == 0));
      loop->set("last", Value(i == n - 1));
      loop->set("length", Value(n));
      loop->set("previtem", i > 0 ? items[static_cast<std::size_t>(i - 1)] : Value());
      loop->set("nextitem", i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : Value());
      const int64_t index = i;
      loop->set("cycle", Value(std::make_shared<Callable>(Callable{
                             "cycle", [index](const ValueList& args, const KwArgs&) {
                               if (args.empty())
                                 throw make_error(ErrorKind::kInvalidArgument,
                                                  "loop.cycle needs at least one argument");
                               return args[static_cast<std::size_t>(index) % args.size()];
                             }})));
      frames_.back()->set("loop", Value(loop));
      bind(item);
      if (++render_steps > kMaxSteps) fail(node.line, "template exceeds its work budget");
      const Flow flow = exec(node.body, out);
      if (flow == Flow::kBreak) break;
    }
    frames_.pop_back();
    if (n == 0) return exec(node.else_body, out);
    return Flow::kNormal;
  }

  Value make_macro(const Node& node) {
    // Macros see the globals and the template's top-level variables.
    // Weak: the macro lives in those frames, and a strong reference would
    // keep them alive forever.
    std::vector<std::weak_ptr<ValueDict>> closure(frames_.begin(), frames_.begin() + 2);
    const Node* macro = &node;
    return Value(std::make_shared<Callable>(
        Callable{node.text, [closure, macro](const ValueList& args, const KwArgs& kwargs) {
                   const MacroDepthGuard guard;
                   if (macro_depth > kMaxCallDepth) fail(macro->line, "macro recursion too deep");
                   if (args.size() > macro->params.size())
                     fail(macro->line, "macro '" + macro->text + "' takes " +
                                           std::to_string(macro->params.size()) + " arguments");
                   std::vector<std::shared_ptr<ValueDict>> frames;
                   for (const auto& weak : closure) {
                     frames.push_back(weak.lock());
                     LM_CHECK(frames.back() !=
                              nullptr);  // macros cannot outlive the render that defined them
                   }
                   auto locals = std::make_shared<ValueDict>();
                   frames.push_back(locals);
                   Renderer inner(frames);
                   for (std::size_t i = 0; i < macro->params.size(); ++i) {
                     const auto& [name, def] = macro->params[i];
                     Value value;
                     bool given = false;
                     if (i < args.size()) {
                       value = args[i];
                       given = true;
                     }
                     for (const auto& [k, v] : kwargs) {
                       if (k == name) {
                         value = v;
                         given = true;
                       }
                     }
                     if (!given && def) value = inner.eval(*def);
                     locals->set(name, value);
                   }
                   std::string out;
                   inner.exec(macro->body, out);
                   return Value(std::move(out));
                 }}));
  }

  Value call(const Value& fn, const ValueList& args, const KwArgs& kwargs, int line) {
    if (!fn.is_callable()) fail(line, "'" + fn.type_name() + "' object is not callable");
    try {
      return fn.as_callable().fn(args, kwargs);
    } catch (Error& e) {
      if (e.message().starts_with("line ")) throw;
      fail(line, e.message());
    }
  }

  Value eval(const Expr& e) {
    try {
      return eval_inner(e);
    } catch (Error& err) {
      if (err.message().starts_with("line ")) throw;
      fail(e.line, err.message());
    }
  }

  Value arithmetic(const std::string& op, const Value& a, const Value& b, int line) {
    auto unsupported = [&]() -> Value {
      fail(line, "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
                     b.type_name() + "'");
    };
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.is_list() && b.is_list()) {
        ValueList joined = a.as_list();
        joined.insert(joined.end(), b.as_list().begin(), b.as_list().end());
        return Value(std::move(joined));
      }
    }
    if (op == "*" && (a.is_string() || b.is_string()) &&
        (a.type() == Value::Type::kInt || b.type() == Value::Type::kInt)) {
      const std::string& s = a.is_string() ? a.as_string() : b.as_string();
      const int64_t times = a.is_string() ? b.as_int() : a.as_int();
      std::string out;
      for (int64_t i = 0; i < times && out.size() < (1u << 24); ++i) out += s;
      return Value(std::move(out));
    }
    if (!a.is_number() || !b.is_number()) return unsupported();
    const bool floats = a.type() == Value::Type::kFloat || b.type() == Value::Type::kFloat;
    const double x = a.as_double(), y = b.as_double();
    const int64_t i = a.as_int(), j = b.as_int();
    // Python integers do not overflow; ours are 64-bit and report it.
    if (!floats && (op == "+" || op == "-" || op == "*")) {
      int64_t r = 0;
      const bool overflow = op == "+"   ? __builtin_add_overflow(i, j, &r)
                            : op == "-" ? __builtin_sub_overflow(i, j, &r)
                                        : __builtin_mul_overflow(i, j, &r);
      if (overflow) fail(line, "integer overflow in '" + op + "'");
      return Value(r);
    }
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "/") {
      if (y == 0.0) fail(line, "division by zero");
      return Value(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0.0) fail(line, "integer division or modulo by zero");
      if (floats) {
        const double q = std::floor(x / y);
        return op == "//" ? Value(q) : Value(x - q * y);
      }
      if (i == INT64_MIN && j == -1) fail(line, "integer overflow in '" + op + "'");
      int64_t q = i / j;
      if ((i % j != 0) && ((i < 0) != (j < 0))) --q;
      return op == "//" ? Value(q) : Value(i - q * j);
    }
    if (op == "**") {
      if (!floats && j >= 0) {
        int64_t power = 1;
        for (int64_t k = 0; k < j; ++k) {
          if (__builtin_mul_overflow(power, i, &power)) fail(line, "integer overflow in '**'");
          if (power == 0 || power == 1) break;
        }
        return Value(power);
      }
      return Value(std::pow(x, y));
    }
    return unsupported();
  }

  bool contains(const Value& container, const Value& item, int line) {
    if (container.is_string()) {
      if (!item.is_string()) fail(line, "'in <string>' requires string as left operand");
      return container.as_string().find(item.as_string()) != std::string::npos;
    }
    if (container.is_dict())
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    if (container.is_list()) {
      for (const auto& v : container.as_list())
        if (v == item) return true;
      return false;
    }
    if (container.is_undefined()) return false;
    fail(line, "argument of type '" + container.type_name() + "' is not iterable");
  }

  Value eval_inner(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: return lookup(e.name);
      case Expr::Kind::kList: {
        ValueList items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return Value(std::move(items));
      }
      case Expr::Kind::kDict: {
        auto dict = std::make_shared<ValueDict>();
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
          const Value key = eval(*e.args[i]);
          if (!key.is_string()) fail(e.line, "dict keys must be strings");
          dict->set(key.as_string(), eval(*e.args[i + 1]));
        }
        return Value(dict);
      }
      case Expr::Kind::kGetAttr: return get_attribute(eval(*e.args[0]), e.name);
      case Expr::Kind::kGetItem: return get_item(eval(*e.args[0]), eval(*e.args[1]));
      case Expr::Kind::kSlice: {
        auto part = [&](std::size_t i) { return e.args[i] ? eval(*e.args[i]) : Value(); };
        return get_slice(eval(*e.args[0]), part(1), part(2), part(3));
      }
      case Expr::Kind::kCall: {
        const Value fn = eval(*e.args[0]);
        ValueList args;
        for (std::size_t i = 1; i < e.args.size(); ++i) args.push_back(eval(*e.args[i]));
        KwArgs kwargs;
        for (const auto& [k, v] : e.kwargs) kwargs.emplace_back(k, eval(*v));
        return call(fn, args, kwargs, e.line);
      }
      case Expr::Kind::kFilter:
      case Expr::Kind::kTest: {
        const Value input = eval(*e.args[0]);
        ValueList args;
        for (std::size_t i = 1; i < e.args.size(); ++i) args.push_back(eval(*e.args[i]));
        KwArgs kwargs;
        for (const auto& [k, v] : e.kwargs) kwargs.emplace_back(k, eval(*v));
        if (e.kind == Expr::Kind::kFilter) return apply_filter(e.name, input, args, kwargs);
        return Value(apply_test(e.name, input, args) != e.negated);
      }
      case Expr::Kind::kUnary: {
        const Value v = eval(*e.args[0]);
        if (e.name == "not") return Value(!v.truthy());
        if (!v.is_number())
          fail(e.line, "bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
        if (e.name == "+") return v;
        if (v.type() == Value::Type::kFloat) return Value(-v.as_double());
        if (v.as_int() == INT64_MIN) fail(e.line, "integer overflow in unary '-'");
        return Value(-v.as_int());
      }
      case Expr::Kind::kConditional:
        if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value();
      case Expr::Kind::kBinary: {
        const std::string& op = e.name;
        if (op == "and") {
          Value a = eval(*e.args[0]);
          return a.truthy() ? eval(*e.args[1]) : a;
        }
        if (op == "or") {
          Value a = eval(*e.args[0]);
          return a.truthy() ? a : eval(*e.args[1]);
        }
        const Value a = eval(*e.args[0]);
        const Value b = eval(*e.args[1]);
        if (op == "==") return Value(a == b);
        if (op == "!=") return Value(!(a == b));
        if (op == "<") return Value(apply_test("lt", a, {b}));
        if (op == ">") return Value(apply_test("gt", a, {b}));
        if (op == "<=") return Value(apply_test("le", a, {b}));
        if (op == ">=") return Value(apply_test("ge", a, {b}));
        if (op == "in") return Value(contains(b, a, e.line));
        if (op == "not in") return Value(!contains(b, a, e.line));
        if (op == "~") return Value(a.str() + b.str());
        return arithmetic(op, a, b, e.line);
      }
    }
    return Value();
  }

  std::vector<std::shared_ptr<ValueDict>> frames_;  // [globals, template, loop / macro scopes...]
};

}  // namespace

std::string render(const NodeList& nodes, const ValueDict& context) {
  // Template variables shadow the global functions, as in Jinja.
  auto globals = std::make_shared<ValueDict>();
  add_global_functions(*globals);
  for (const auto& [name, value] : context.items) globals->set(name, value);
  render_steps = 0;
  Renderer renderer(std::move(globals));
  std::string out;
  renderer.exec(nodes, out);
  return out;
}

}  // namespace localmoe::jinja
