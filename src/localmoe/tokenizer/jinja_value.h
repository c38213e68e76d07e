#pragma once
// Values of the Jinja-subset interpreter that renders chat templates: the
// Python objects a template sees (None, bool, int, float, str, list, dict,
// callables) with Python's truthiness, equality, str() and repr(), and the
// JSON output of transformers' `tojson` filter (json.dumps, ensure_ascii off).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace localmoe::jinja {

class Value;
using ValueList = std::vector<Value>;
using KwArgs = std::vector<std::pair<std::string, Value>>;

// An insertion-ordered dict with string keys (the only kind JSON and chat
// templates produce).
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace(): attributes may be assigned

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// A function a template can call: a macro, a global, or a bound method.
struct Callable {
  std::string name;
  std::function<Value(const ValueList& args, const KwArgs& kwargs)> fn;
};

class Value {
 public:
  enum class Type { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // undefined
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  Value(ValueList list);
  Value(std::shared_ptr<ValueDict> dict);
  Value(std::shared_ptr<Callable> callable);
  // Object key order is kept with ordered_json (what tojson then prints).
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

  Type type() const { return type_; }
  bool is_undefined() const { return type_ == Type::kUndefined; }
  bool is_none() const { return type_ == Type::kNone; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const {
    return type_ == Type::kInt || type_ == Type::kFloat || type_ == Type::kBool;
  }
  bool is_list() const { return type_ == Type::kList; }
  bool is_dict() const { return type_ == Type::kDict; }
  bool is_callable() const { return type_ == Type::kCallable; }

  bool as_bool() const { return bool_; }
  int64_t as_int() const;    // bool / int / float (truncated)
  double as_double() const;  // bool / int / float
  const std::string& as_string() const { return string_; }
  const ValueList& as_list() const { return *list_; }
  ValueDict& as_dict() const { return *dict_; }
  const Callable& as_callable() const { return *callable_; }

  bool truthy() const;
  std::string str() const;   // Python str(): what {{ value }} prints
  std::string repr() const;  // Python repr()
  // json.dumps(value, ensure_ascii=False, indent=indent (< 0: None),
  // sort_keys=sort_keys) with Python's default separators.
  std::string to_json(int indent, bool sort_keys) const;
  std::string type_name() const;  // Python's name for the type, for errors

 private:
  void write_json(std::string& out, int indent, int depth, bool sort_keys) const;

  Type type_ = Type::kUndefined;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string string_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<Callable> callable_;
};

bool operator==(const Value& a, const Value& b);
// Python's float repr: shortest round-trip digits, exponent form outside [1e-4, 1e16).
std::string python_float_repr(double d);

}  // namespace localmoe::jinja
