#pragma once
// Renders a parsed Jinja template (jinja_ast.h) against a context of
// values: statements, expressions, loop and macro scoping as Jinja 3 does.

#include <memory>
#include <string>

#include "localmoe/tokenizer/jinja_ast.h"
#include "localmoe/tokenizer/jinja_value.h"

namespace localmoe::jinja {

// Renders `nodes`; `context` holds the template's variables (they shadow
// the global functions). Errors throw Error(kInvalidArgument) with
// "line N: ...".
std::string render(const NodeList& nodes, const ValueDict& context);

}  // namespace localmoe::jinja
