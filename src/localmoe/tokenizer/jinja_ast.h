#pragma once
// The syntax tree of a parsed Jinja template (the subset chat templates use).

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "localmoe/tokenizer/jinja_value.h"

namespace localmoe::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,      // literal
    kName,         // name
    kList,         // [items...] / (items,...) -> args
    kDict,         // {keys: values} -> args (key, value, key, value, ...)
    kGetAttr,      // args[0].name
    kGetItem,      // args[0][args[1]]
    kSlice,        // args[0][args[1]:args[2]:args[3]] (null Expr = omitted)
    kCall,         // args[0](args[1..], kwargs)
    kFilter,       // args[0] | name(args[1..], kwargs)
    kTest,         // args[0] is [not] name(args[1..])
    kUnary,        // name in {"-", "+", "not"}; args[0]
    kBinary,       // args[0] name args[1]; name is the operator
    kConditional,  // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value literal;
  std::string name;
  bool negated = false;  // kTest with "is not"
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using NodeList = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches (condition, body)..., else_body
    kFor,       // for targets in expr [if filter]: body, else_body
    kSet,       // set target[.attr] = expr
    kSetBlock,  // set target %} body {% endset
    kMacro,     // macro name(params) body
    kBreak,
    kContinue,
    kBlock,  // a body rendered in place ({% generation %})
  };
  Kind kind = Kind::kText;
  int line = 0;
  std::string text;                  // kText; kSet / kSetBlock / kMacro: target or name
  std::string attr;                  // kSet on a namespace attribute
  ExprPtr expr;                      // kOutput, kSet, kFor (iterable)
  ExprPtr filter;                    // kFor's "if" clause
  std::vector<std::string> targets;  // kFor loop variables
  std::vector<std::pair<ExprPtr, NodeList>> branches;   // kIf
  NodeList body;                                        // kFor, kSetBlock, kMacro, kBlock
  NodeList else_body;                                   // kIf, kFor
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null)
};

// Whitespace options of the environment (transformers uses both true).
struct TemplateOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Parses `source`; throws Error(kInvalidArgument) with "line N: ..." on a
// syntax error.
NodeList parse_template(const std::string& source, const TemplateOptions& options);

}  // namespace localmoe::jinja
