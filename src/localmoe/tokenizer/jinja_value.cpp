#include "localmoe/tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "localmoe/tokenizer/unicode.h"

namespace localmoe::jinja {

const Value* ValueDict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void ValueDict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

Value Value::none() {
  Value v;
  v.type_ = Type::kNone;
  return v;
}
Value::Value(bool b) : type_(Type::kBool), bool_(b) {}
Value::Value(int64_t i) : type_(Type::kInt), int_(i) {}
Value::Value(double d) : type_(Type::kFloat), float_(d) {}
Value::Value(std::string s) : type_(Type::kString), string_(std::move(s)) {}
Value::Value(ValueList list)
    : type_(Type::kList), list_(std::make_shared<ValueList>(std::move(list))) {}
Value::Value(std::shared_ptr<ValueDict> dict) : type_(Type::kDict), dict_(std::move(dict)) {}
Value::Value(std::shared_ptr<Callable> callable)
    : type_(Type::kCallable), callable_(std::move(callable)) {}

namespace {

template <typename Json>
Value value_from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return Value::none();
    case Json::value_t::boolean: return Value(j.template get<bool>());
    case Json::value_t::number_integer: return Value(j.template get<int64_t>());
    case Json::value_t::number_unsigned:
      return Value(static_cast<int64_t>(j.template get<uint64_t>()));
    case Json::value_t::number_float: return Value(j.template get<double>());
    case Json::value_t::string: return Value(j.template get<std::string>());
    case Json::value_t::array: {
      ValueList list;
      for (const auto& e : j) list.push_back(value_from_json(e));
      return Value(std::move(list));
    }
    case Json::value_t::object: {
      auto dict = std::make_shared<ValueDict>();
      for (auto it = j.begin(); it != j.end(); ++it)
        dict->items.emplace_back(it.key(), value_from_json(it.value()));
      return Value(std::move(dict));
    }
    default: return Value();
  }
}

}  // namespace

Value Value::from_json(const nlohmann::json& j) {
  return value_from_json(j);
}
Value Value::from_json(const nlohmann::ordered_json& j) {
  return value_from_json(j);
}

int64_t Value::as_int() const {
  switch (type_) {
    case Type::kBool: return bool_ ? 1 : 0;
    case Type::kInt: return int_;
    case Type::kFloat:
      // Saturate instead of the undefined out-of-range cast.
      if (std::isnan(float_)) return 0;
      if (float_ >= 9.2e18) return INT64_MAX;
      if (float_ <= -9.2e18) return INT64_MIN;
      return static_cast<int64_t>(float_);
    default: return 0;
  }
}

double Value::as_double() const {
  switch (type_) {
    case Type::kBool: return bool_ ? 1.0 : 0.0;
    case Type::kInt: return static_cast<double>(int_);
    case Type::kFloat: return float_;
    default: return 0.0;
  }
}

bool Value::truthy() const {
  switch (type_) {
    case Type::kUndefined:
    case Type::kNone: return false;
    case Type::kBool: return bool_;
    case Type::kInt: return int_ != 0;
    case Type::kFloat: return float_ != 0.0;
    case Type::kString: return !string_.empty();
    case Type::kList: return !list_->empty();
    case Type::kDict: return dict_->is_namespace || !dict_->items.empty();
    case Type::kCallable: return true;
  }
  return false;
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  // sci = [-]D[.DDD]e[+-]XX
  const bool negative = sci[0] == '-';
  const std::size_t e = sci.find('e');
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

namespace {

std::string python_string_repr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t start = pos;
    const char32_t cp = utf8_next(s, pos);
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s, start, pos - start);
    }
  }
  out.push_back(quote);
  return out;
}

void json_escape(std::string& out, const std::string& s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string Value::str() const {
  switch (type_) {
    case Type::kUndefined: return "";
    case Type::kString: return string_;
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (type_) {
    case Type::kUndefined: return "";
    case Type::kNone: return "None";
    case Type::kBool: return bool_ ? "True" : "False";
    case Type::kInt: return std::to_string(int_);
    case Type::kFloat: return python_float_repr(float_);
    case Type::kString: return python_string_repr(string_);
    case Type::kList: {
      std::string out = "[";
      for (std::size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].repr();
      return out + "]";
    }
    case Type::kDict: {
      if (dict_->is_namespace) return "<Namespace>";
      std::string out = "{";
      for (std::size_t i = 0; i < dict_->items.size(); ++i)
        out += (i ? ", " : "") + python_string_repr(dict_->items[i].first) + ": " +
               dict_->items[i].second.repr();
      return out + "}";
    }
    case Type::kCallable: return "<function " + callable_->name + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (type_) {
    case Type::kUndefined: return "Undefined";
    case Type::kNone: return "NoneType";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "str";
    case Type::kList: return "list";
    case Type::kDict: return dict_->is_namespace ? "Namespace" : "dict";
    case Type::kCallable: return "function";
  }
  return "";
}

std::string Value::to_json(int indent, bool sort_keys) const {
  std::string out;
  write_json(out, indent, 0, sort_keys);
  return out;
}

void Value::write_json(std::string& out, int indent, int depth, bool sort_keys) const {
  auto newline = [&](int level) {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(indent) * static_cast<std::size_t>(level), ' ');
  };
  switch (type_) {
    case Type::kUndefined:
    case Type::kNone: out += "null"; return;
    case Type::kBool: out += bool_ ? "true" : "false"; return;
    case Type::kInt: out += std::to_string(int_); return;
    case Type::kFloat:
      out += std::isnan(float_)   ? "NaN"
             : std::isinf(float_) ? (float_ > 0 ? "Infinity" : "-Infinity")
                                  : python_float_repr(float_);
      return;
    case Type::kString: json_escape(out, string_); return;
    case Type::kCallable: json_escape(out, repr()); return;
    case Type::kList: {
      if (list_->empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (std::size_t i = 0; i < list_->size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        (*list_)[i].write_json(out, indent, depth + 1, sort_keys);
      }
      if (indent >= 0) newline(depth);
      out.push_back(']');
      return;
    }
    case Type::kDict: {
      if (dict_->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& item : dict_->items) items.push_back(&item);
      if (sort_keys)
        std::stable_sort(items.begin(), items.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      out.push_back('{');
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        json_escape(out, items[i]->first);
        out += ": ";
        items[i]->second.write_json(out, indent, depth + 1, sort_keys);
      }
      if (indent >= 0) newline(depth);
      out.push_back('}');
      return;
    }
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.type() == Value::Type::kFloat || b.type() == Value::Type::kFloat)
      return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kUndefined:
    case Value::Type::kNone: return true;
    case Value::Type::kString: return a.as_string() == b.as_string();
    case Value::Type::kList: return a.as_list() == b.as_list();
    case Value::Type::kDict: {
      const auto& x = a.as_dict().items;
      const auto& y = b.as_dict().items;
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = b.as_dict().find(k);
        if (other == nullptr || !(*other == v)) return false;
      }
      return true;
    }
    case Value::Type::kCallable: return &a.as_callable() == &b.as_callable();
    default: return false;
  }
}

}  // namespace localmoe::jinja
