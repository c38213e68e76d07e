#include "localmoe/tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe::jinja {

namespace {

[[noreturn]] void type_error(const std::string& message) {
  throw make_error(ErrorKind::kInvalidArgument, message);
}

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t start = pos;
    utf8_next(s, pos);
    out.push_back(s.substr(start, pos - start));
  }
  return out;
}

bool python_space(char32_t c) {
  return is_whitespace(c) || (c >= 0x1C && c <= 0x1F);
}

// Jinja's title filter (not str.title): each run between separators
// [-\s({[<] gets its first character upper-cased and the rest lower-cased.
std::string jinja_title(const std::string& s) {
  auto is_separator = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_whitespace(c);
  };
  std::string out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t start = pos;
    const char32_t c = utf8_next(s, pos);
    if (is_separator(c)) {
      out.append(s, start, pos - start);
      continue;
    }
    std::size_t end = pos;
    while (end < s.size()) {
      std::size_t next = end;
      if (is_separator(utf8_next(s, next))) break;
      end = next;
    }
    out += python_upper(s.substr(start, pos - start));
    out += python_lower(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// Python's str.islower() / isupper(): some cased character, none of the other case.
bool python_is_case(const std::string& s, bool lower) {
  const std::string other = lower ? python_upper(s) : python_lower(s);
  return other != s && (lower ? python_lower(s) : python_upper(s)) == s;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to,
                        int64_t count) {
  if (from.empty()) {
    std::string out;
    int64_t done = 0;
    for (const auto& ch : code_points(s)) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += ch;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  std::string out;
  std::size_t start = 0;
  int64_t done = 0;
  for (std::size_t pos = s.find(from); pos != std::string::npos && (count < 0 || done < count);
       pos = s.find(from, start), ++done) {
    out.append(s, start, pos - start);
    out += to;
    start = pos + from.size();
  }
  out.append(s, start);
  return out;
}

std::vector<std::string> python_split(const std::string& s, const Value& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.is_undefined() || sep.is_none()) {
    std::size_t pos = 0;
    std::string current;
    bool in_word = false;
    while (pos < s.size()) {
      const std::size_t start = pos;
      const char32_t c = utf8_next(s, pos);
      if (python_space(c) && (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit)) {
        if (in_word) out.push_back(current);
        current.clear();
        in_word = false;
      } else if (python_space(c) && !in_word) {
        continue;
      } else {
        current.append(s, start, pos - start);
        in_word = true;
      }
    }
    if (in_word) out.push_back(current);
    return out;
  }
  if (!sep.is_string() || sep.as_string().empty())
    type_error("split(): separator must be a non-empty string");
  const std::string& d = sep.as_string();
  std::size_t start = 0;
  for (std::size_t pos = s.find(d);
       pos != std::string::npos && (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit);
       pos = s.find(d, start)) {
    out.push_back(s.substr(start, pos - start));
    start = pos + d.size();
  }
  out.push_back(s.substr(start));
  return out;
}

std::shared_ptr<Callable> method(std::string name,
                                 std::function<Value(const ValueList&, const KwArgs&)> fn) {
  return std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
}

// By value: callers pass temporaries as the fallback.
Value arg(const ValueList& args, const KwArgs& kwargs, std::size_t index, const char* name,
          const Value& fallback) {
  if (index < args.size()) return args[index];
  for (const auto& [k, v] : kwargs)
    if (k == name) return v;
  return fallback;
}

std::string string_arg(const Value& v, const char* what) {
  if (!v.is_string()) type_error(std::string(what) + ": expected a string, got " + v.type_name());
  return v.as_string();
}

Value string_method(const std::string& s, const std::string& name) {
  static const Value kNone = Value::none();
  auto affix = [s](bool prefix) {
    return [s, prefix](const ValueList& args, const KwArgs& kwargs) -> Value {
      const Value& a = arg(args, kwargs, 0, prefix ? "prefix" : "suffix", Value());
      ValueList options = a.is_list() ? a.as_list() : ValueList{a};
      for (const auto& o : options) {
        const std::string& x = string_arg(o, prefix ? "startswith" : "endswith");
        if (prefix ? s.starts_with(x) : s.ends_with(x)) return Value(true);
      }
      return Value(false);
    };
  };
  auto strip = [s](bool left, bool right) {
    return [s, left, right](const ValueList& args, const KwArgs& kwargs) -> Value {
      const Value& chars = arg(args, kwargs, 0, "chars", kNone);
      return Value(python_strip(
          s, left, right, chars.is_string() ? std::optional(chars.as_string()) : std::nullopt));
    };
  };
  if (name == "startswith") return Value(method(name, affix(true)));
  if (name == "endswith") return Value(method(name, affix(false)));
  if (name == "strip") return Value(method(name, strip(true, true)));
  if (name == "lstrip") return Value(method(name, strip(true, false)));
  if (name == "rstrip") return Value(method(name, strip(false, true)));
  if (name == "upper")
    return Value(
        method(name, [s](const ValueList&, const KwArgs&) { return Value(python_upper(s)); }));
  if (name == "lower")
    return Value(
        method(name, [s](const ValueList&, const KwArgs&) { return Value(python_lower(s)); }));
  if (name == "title")
    return Value(
        method(name, [s](const ValueList&, const KwArgs&) { return Value(python_title(s)); }));
  if (name == "capitalize")
    return Value(
        method(name, [s](const ValueList&, const KwArgs&) { return Value(python_capitalize(s)); }));
  if (name == "split") {
    return Value(method(name, [s](const ValueList& args, const KwArgs& kwargs) {
      const Value& maxsplit = arg(args, kwargs, 1, "maxsplit", Value(int64_t{-1}));
      ValueList out;
      for (auto& part : python_split(s, arg(args, kwargs, 0, "sep", kNone), maxsplit.as_int()))
        out.emplace_back(part);
      return Value(std::move(out));
    }));
  }
  if (name == "replace") {
    return Value(method(name, [s](const ValueList& args, const KwArgs& kwargs) {
      const std::string from = string_arg(arg(args, kwargs, 0, "old", Value()), "replace");
      const std::string to = string_arg(arg(args, kwargs, 1, "new", Value()), "replace");
      return Value(
          replace_all(s, from, to, arg(args, kwargs, 2, "count", Value(int64_t{-1})).as_int()));
    }));
  }
  if (name == "find") {
    return Value(method(name, [s](const ValueList& args, const KwArgs& kwargs) {
      const std::size_t pos = s.find(string_arg(arg(args, kwargs, 0, "sub", Value()), "find"));
      if (pos == std::string::npos) return Value(int64_t{-1});
      return Value(static_cast<int64_t>(code_points(s.substr(0, pos)).size()));
    }));
  }
  if (name == "join") {
    return Value(method(name, [s](const ValueList& args, const KwArgs& kwargs) {
      std::string out;
      bool first = true;
      for (const auto& item : iterate(arg(args, kwargs, 0, "iterable", Value()))) {
        if (!first) out += s;
        out += string_arg(item, "join");
        first = false;
      }
      return Value(std::move(out));
    }));
  }
  return Value();
}

Value dict_method(const Value& dict, const std::string& name) {
  if (name == "items") {
    return Value(method(name, [dict](const ValueList&, const KwArgs&) {
      ValueList out;
      for (const auto& [k, v] : dict.as_dict().items) out.emplace_back(ValueList{Value(k), v});
      return Value(std::move(out));
    }));
  }
  if (name == "keys") {
    return Value(method(name, [dict](const ValueList&, const KwArgs&) {
      ValueList out;
      for (const auto& [k, v] : dict.as_dict().items) out.emplace_back(k);
      return Value(std::move(out));
    }));
  }
  if (name == "values") {
    return Value(method(name, [dict](const ValueList&, const KwArgs&) {
      ValueList out;
      for (const auto& [k, v] : dict.as_dict().items) out.push_back(v);
      return Value(std::move(out));
    }));
  }
  if (name == "get") {
    return Value(method(name, [dict](const ValueList& args, const KwArgs& kwargs) {
      const Value& key = arg(args, kwargs, 0, "key", Value());
      const Value* found = key.is_string() ? dict.as_dict().find(key.as_string()) : nullptr;
      return found != nullptr ? *found : arg(args, kwargs, 1, "default", Value::none());
    }));
  }
  return Value();
}

int64_t length(const Value& v) {
  if (v.is_string()) return static_cast<int64_t>(code_points(v.as_string()).size());
  if (v.is_list()) return static_cast<int64_t>(v.as_list().size());
  if (v.is_dict()) return static_cast<int64_t>(v.as_dict().items.size());
  if (v.is_undefined()) return 0;
  type_error("object of type '" + v.type_name() + "' has no len()");
}

bool less_than(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  type_error("'<' not supported between instances of '" + a.type_name() + "' and '" +
             b.type_name() + "'");
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    cur = get_attribute(cur, path.substr(start, dot - start));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// select / reject / selectattr / rejectattr.
Value select_items(const Value& input, const ValueList& args, bool by_attribute, bool keep) {
  ValueList out;
  std::size_t first_test_arg = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) attribute = string_arg(args.empty() ? Value() : args[0], "selectattr");
  for (const auto& item : iterate(input)) {
    const Value subject = by_attribute ? attribute_path(item, attribute) : item;
    bool passed;
    if (args.size() <= first_test_arg) {
      passed = subject.truthy();
    } else {
      const std::string test = string_arg(args[first_test_arg], "select test name");
      passed =
          apply_test(test, subject,
                     ValueList(args.begin() + static_cast<long>(first_test_arg) + 1, args.end()));
    }
    if (passed == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

}  // namespace

std::string python_strip(const std::string& s, bool left, bool right,
                         const std::optional<std::string>& chars) {
  const auto cps = code_points(s);
  std::vector<std::string> strip_set;
  if (chars) strip_set = code_points(*chars);
  auto strippable = [&](const std::string& ch) {
    if (chars) return std::find(strip_set.begin(), strip_set.end(), ch) != strip_set.end();
    std::size_t pos = 0;
    return python_space(utf8_next(ch, pos));
  };
  std::size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && strippable(cps[begin])) ++begin;
  if (right)
    while (end > begin && strippable(cps[end - 1])) --end;
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

ValueList iterate(const Value& value) {
  switch (value.type()) {
    case Value::Type::kUndefined: return {};
    case Value::Type::kList: return value.as_list();
    case Value::Type::kString: {
      ValueList out;
      for (auto& ch : code_points(value.as_string())) out.emplace_back(ch);
      return out;
    }
    case Value::Type::kDict: {
      ValueList out;
      for (const auto& [k, v] : value.as_dict().items) out.emplace_back(k);
      return out;
    }
    default: type_error("'" + value.type_name() + "' object is not iterable");
  }
}

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.type()) {
    case Value::Type::kUndefined: type_error("'" + name + "' of an undefined value");
    case Value::Type::kString: return string_method(object.as_string(), name);
    case Value::Type::kDict: {
      if (!object.as_dict().is_namespace) {
        Value m = dict_method(object, name);
        if (!m.is_undefined()) return m;
      }
      const Value* found = object.as_dict().find(name);
      return found != nullptr ? *found : Value();
    }
    default: return Value();
  }
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_dict()) {
    if (!key.is_string()) return Value();
    const Value* found = object.as_dict().find(key.as_string());
    return found != nullptr ? *found : Value();
  }
  if (object.is_list() || object.is_string()) {
    if (!key.is_number()) {
      if (key.is_string()) return get_attribute(object, key.as_string());
      type_error("indices must be integers, not " + key.type_name());
    }
    const ValueList items = object.is_list() ? object.as_list() : iterate(object);
    int64_t i = key.as_int();
    if (i < 0) i += static_cast<int64_t>(items.size());
    if (i < 0 || i >= static_cast<int64_t>(items.size())) return Value();
    return items[static_cast<std::size_t>(i)];
  }
  if (object.is_undefined()) type_error("subscript of an undefined value");
  return Value();
}

Value get_slice(const Value& object, const Value& start_v, const Value& stop_v,
                const Value& step_v) {
  if (!object.is_list() && !object.is_string())
    type_error("'" + object.type_name() + "' object is not subscriptable");
  const ValueList items = object.is_list() ? object.as_list() : iterate(object);
  const auto n = static_cast<int64_t>(items.size());
  const int64_t step = step_v.is_undefined() || step_v.is_none() ? 1 : step_v.as_int();
  if (step == 0) type_error("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t fallback) {
    if (v.is_undefined() || v.is_none()) return fallback;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t start = clamp(start_v, step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(stop_v, step > 0 ? n : -1);
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
    out.push_back(items[static_cast<std::size_t>(i)]);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  if (object.is_list()) return Value(std::move(out));
  std::string s;
  for (const auto& ch : out) s += ch.as_string();
  return Value(std::move(s));
}

bool apply_test(const std::string& name, const Value& v, const ValueList& args) {
  auto other = [&]() -> const Value& {
    if (args.empty()) type_error("test '" + name + "' needs an argument");
    return args[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.type() == Value::Type::kBool;
  if (name == "true") return v.type() == Value::Type::kBool && v.as_bool();
  if (name == "false") return v.type() == Value::Type::kBool && !v.as_bool();
  if (name == "integer") return v.type() == Value::Type::kInt;
  if (name == "float") return v.type() == Value::Type::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_callable();
  if (name == "odd") return v.as_int() % 2 != 0;
  if (name == "even") return v.as_int() % 2 == 0;
  if (name == "divisibleby") return other().as_int() != 0 && v.as_int() % other().as_int() == 0;
  if (name == "eq" || name == "equalto" || name == "==") return v == other();
  if (name == "ne" || name == "!=") return !(v == other());
  if (name == "lt" || name == "lessthan" || name == "<") return less_than(v, other());
  if (name == "gt" || name == "greaterthan" || name == ">") return less_than(other(), v);
  if (name == "le" || name == "<=") return !less_than(other(), v);
  if (name == "ge" || name == ">=") return !less_than(v, other());
  if (name == "in") {
    for (const auto& item : iterate(other()))
      if (item == v) return true;
    return other().is_string() && v.is_string() &&
           other().as_string().find(v.as_string()) != std::string::npos;
  }
  if (name == "sameas")
    return v.type() == other().type() && (v.is_none() || v.is_undefined() || v == other());
  if (name == "lower") return v.is_string() && python_is_case(v.as_string(), /*lower=*/true);
  if (name == "upper") return v.is_string() && python_is_case(v.as_string(), /*lower=*/false);
  type_error("unknown test '" + name + "'");
}

Value apply_filter(const std::string& name, const Value& v, const ValueList& args,
                   const KwArgs& kwargs) {
  static const Value kNone = Value::none();
  auto str_input = [&]() -> std::string { return v.str(); };
  if (name == "trim") {
    const Value& chars = arg(args, kwargs, 0, "chars", kNone);
    return Value(python_strip(str_input(), true, true,
                              chars.is_string() ? std::optional(chars.as_string()) : std::nullopt));
  }
  if (name == "length" || name == "count") return Value(length(v));
  if (name == "tojson") {
    const Value& indent = arg(args, kwargs, 0, "indent", kNone);
    const Value& sort_keys = arg(args, kwargs, 99, "sort_keys", Value(false));
    if (indent.is_number() && (indent.as_int() < 0 || indent.as_int() > 64))
      type_error("tojson: indent must be in [0, 64]");
    return Value(
        v.to_json(indent.is_number() ? static_cast<int>(indent.as_int()) : -1, sort_keys.truthy()));
  }
  if (name == "upper") return Value(python_upper(str_input()));
  if (name == "lower") return Value(python_lower(str_input()));
  if (name == "title") return Value(jinja_title(str_input()));
  if (name == "capitalize") return Value(python_capitalize(str_input()));
  if (name == "string") return Value(str_input());
  if (name == "safe") return v;
  if (name == "escape" || name == "e") return Value(html_escape(str_input()));
  if (name == "first" || name == "last") {
    const ValueList items = iterate(v);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    const Value& sep = arg(args, kwargs, 0, "d", Value(""));
    const Value& attribute = arg(args, kwargs, 1, "attribute", kNone);
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
      if (!first) out += sep.str();
      out += (attribute.is_string() ? attribute_path(item, attribute.as_string()) : item).str();
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "default" || name == "d") {
    const Value& fallback = arg(args, kwargs, 0, "default_value", Value(""));
    const bool boolean = arg(args, kwargs, 1, "boolean", Value(false)).truthy();
    return (v.is_undefined() || (boolean && !v.truthy())) ? fallback : v;
  }
  if (name == "items") {
    if (v.is_undefined()) return Value(ValueList{});
    if (!v.is_dict()) type_error("items filter: expected a mapping, got " + v.type_name());
    return get_attribute(v, "items").as_callable().fn({}, {});
  }
  if (name == "list") return Value(iterate(v));
  if (name == "reverse") {
    if (v.is_string()) return get_slice(v, Value(), Value(), Value(int64_t{-1}));
    ValueList items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "int") {
    if (v.is_number()) return Value(v.as_int());
    if (v.is_string()) {
      try {
        std::size_t used = 0;
        const std::string s = python_strip(v.as_string(), true, true, std::nullopt);
        const int64_t i = std::stoll(s, &used);
        if (used == s.size()) return Value(i);
      } catch (const std::exception&) {
      }
    }
    return arg(args, kwargs, 0, "default", Value(int64_t{0}));
  }
  if (name == "float") {
    if (v.is_number()) return Value(v.as_double());
    if (v.is_string()) {
      const std::string s = python_strip(v.as_string(), true, true, std::nullopt);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return Value(d);
    }
    return arg(args, kwargs, 0, "default", Value(0.0));
  }
  if (name == "abs") {
    if (v.type() == Value::Type::kFloat) return Value(std::fabs(v.as_double()));
    if (v.as_int() == INT64_MIN) type_error("integer overflow in abs");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (name == "replace") {
    const std::string from = string_arg(arg(args, kwargs, 0, "old", Value()), "replace");
    const std::string to = string_arg(arg(args, kwargs, 1, "new", Value()), "replace");
    return Value(replace_all(str_input(), from, to,
                             arg(args, kwargs, 2, "count", Value(int64_t{-1})).as_int()));
  }
  if (name == "select") return select_items(v, args, false, true);
  if (name == "reject") return select_items(v, args, false, false);
  if (name == "selectattr") return select_items(v, args, true, true);
  if (name == "rejectattr") return select_items(v, args, true, false);
  if (name == "map") {
    ValueList out;
    const Value& attribute = arg(args, kwargs, 99, "attribute", Value());
    for (const auto& item : iterate(v)) {
      if (attribute.is_string()) {
        Value got = attribute_path(item, attribute.as_string());
        out.push_back(got.is_undefined() ? arg(args, kwargs, 99, "default", Value()) : got);
      } else {
        const std::string filter = string_arg(args.empty() ? Value() : args[0], "map filter name");
        out.push_back(apply_filter(filter, item, ValueList(args.begin() + 1, args.end()), {}));
      }
    }
    return Value(std::move(out));
  }
  if (name == "unique") {
    ValueList out;
    for (const auto& item : iterate(v))
      if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    return Value(std::move(out));
  }
  if (name == "sort") {
    ValueList items = iterate(v);
    const bool reverse = arg(args, kwargs, 0, "reverse", Value(false)).truthy();
    const Value& attribute = arg(args, kwargs, 2, "attribute", kNone);
    auto key = [&](const Value& x) {
      return attribute.is_string() ? attribute_path(x, attribute.as_string()) : x;
    };
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      return reverse ? less_than(key(b), key(a)) : less_than(key(a), key(b));
    });
    return Value(std::move(items));
  }
  if (name == "indent") {
    const Value& width_v = arg(args, kwargs, 0, "width", Value(int64_t{4}));
    const bool first = arg(args, kwargs, 1, "first", Value(false)).truthy();
    const bool blank = arg(args, kwargs, 2, "blank", Value(false)).truthy();
    if (!width_v.is_string() && (width_v.as_int() < 0 || width_v.as_int() > 1024))
      type_error("indent: width must be in [0, 1024]");
    const std::string pad = width_v.is_string()
                                ? width_v.as_string()
                                : std::string(static_cast<std::size_t>(width_v.as_int()), ' ');
    const std::string s = str_input();
    std::string out;
    std::size_t start = 0;
    bool first_line = true;
    while (true) {
      const std::size_t nl = s.find('\n', start);
      const std::string line =
          s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if ((first_line ? first : true) && (blank || !line.empty())) out += pad;
      out += line;
      if (nl == std::string::npos) break;
      out += '\n';
      start = nl + 1;
      first_line = false;
    }
    return Value(std::move(out));
  }
  type_error("unknown filter '" + name + "'");
}

void add_global_functions(ValueDict& globals) {
  globals.set("raise_exception",
              Value(method("raise_exception", [](const ValueList& args, const KwArgs&) -> Value {
                throw make_error(ErrorKind::kInvalidArgument,
                                 "raise_exception: ", args.empty() ? std::string() : args[0].str());
              })));
  globals.set("namespace",
              Value(method("namespace", [](const ValueList& args, const KwArgs& kwargs) {
                auto ns = std::make_shared<ValueDict>();
                ns->is_namespace = true;
                if (!args.empty() && args[0].is_dict())
                  for (const auto& [k, val] : args[0].as_dict().items) ns->set(k, val);
                for (const auto& [k, val] : kwargs) ns->set(k, val);
                return Value(ns);
              })));
  globals.set("dict", Value(method("dict", [](const ValueList& args, const KwArgs& kwargs) {
                auto d = std::make_shared<ValueDict>();
                if (!args.empty() && args[0].is_dict())
                  for (const auto& [k, val] : args[0].as_dict().items) d->set(k, val);
                for (const auto& [k, val] : kwargs) d->set(k, val);
                return Value(d);
              })));
  globals.set(
      "range", Value(method("range", [](const ValueList& args, const KwArgs&) {
        if (args.empty() || args.size() > 3) type_error("range expects 1 to 3 arguments");
        int64_t start = 0, stop, step = 1;
        if (args.size() == 1) {
          stop = args[0].as_int();
        } else {
          start = args[0].as_int();
          stop = args[1].as_int();
          if (args.size() == 3) step = args[2].as_int();
        }
        if (step == 0) type_error("range() arg 3 must not be zero");
        if ((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step) >
            1e6)
          type_error("range too large");
        ValueList out;
        for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
          out.emplace_back(i);
          if (__builtin_add_overflow(i, step, &i)) break;
        }
        return Value(std::move(out));
      })));
  globals.set("strftime_now",
              Value(method("strftime_now", [](const ValueList& args, const KwArgs&) {
                const std::time_t now = std::time(nullptr);
                std::tm tm{};
                localtime_r(&now, &tm);
                char buf[256];
                const std::size_t n =
                    std::strftime(buf, sizeof(buf), args.empty() ? "" : args[0].str().c_str(), &tm);
                return Value(std::string(buf, n));
              })));
}

}  // namespace localmoe::jinja
