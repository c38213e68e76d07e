#pragma once
// Lexing of Jinja templates: the template text cut into text, {{ output }}
// and {% statement %} chunks (with transformers' whitespace rules), and the
// inside of a tag cut into expression tokens.

#include <cstdint>
#include <string>
#include <vector>

#include "localmoe/tokenizer/jinja_ast.h"

namespace localmoe::jinja {

// One piece of a template, with the line it starts on.
struct Chunk {
  enum class Kind { kText, kOutput, kStatement };
  Kind kind;
  std::string text;
  int line;
};

// One token of an expression.
struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // name, operator, or decoded string
  int64_t int_value = 0;
  double float_value = 0.0;
};

// Throws Error(kInvalidArgument) "line N: message".
[[noreturn]] void syntax_error(int line, const std::string& message);

std::vector<Chunk> split_template(const std::string& source, const TemplateOptions& options);
std::vector<Token> tokenize_expression(const std::string& tag, int line);

}  // namespace localmoe::jinja
