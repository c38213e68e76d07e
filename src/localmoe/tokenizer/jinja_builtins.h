#pragma once
// The filters, tests, methods and global functions of the Jinja subset:
// those that chat templates use, with Python / Jinja 3 semantics. Each
// throws Error(kInvalidArgument) with a message (the caller adds the line).

#include <optional>
#include <string>

#include "localmoe/tokenizer/jinja_value.h"

namespace localmoe::jinja {

Value apply_filter(const std::string& name, const Value& input, const ValueList& args,
                   const KwArgs& kwargs);
bool apply_test(const std::string& name, const Value& input, const ValueList& args);
// `object.name`: a bound method of a str / dict, a dict key, or undefined.
Value get_attribute(const Value& object, const std::string& name);
// `object[key]` with Python indexing (negative list / str indices).
Value get_item(const Value& object, const Value& key);
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// Functions every template sees: range, namespace, dict, raise_exception,
// strftime_now.
void add_global_functions(ValueDict& globals);
// Python's str.strip(): whitespace, or the characters of `chars`.
std::string python_strip(const std::string& s, bool left, bool right,
                         const std::optional<std::string>& chars);
// Elements of an iterable value (list items, dict keys, str characters).
ValueList iterate(const Value& value);

}  // namespace localmoe::jinja
