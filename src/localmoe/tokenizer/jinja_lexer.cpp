#include "localmoe/tokenizer/jinja_lexer.h"

#include <cctype>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe::jinja {

void syntax_error(int line, const std::string& message) {
  throw make_error(ErrorKind::kInvalidArgument, "line ", line, ": ", message);
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
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
  syntax_error(line, "unclosed tag");
}

void append_escape(const std::string& s, std::size_t& i, std::string& out, int line) {
  const char c = s[i];
  auto hex_code = [&](int digits) {
    if (i + digits >= s.size()) syntax_error(line, "truncated escape in string literal");
    const std::string hex = s.substr(i + 1, digits);
    for (char h : hex)
      if (!std::isxdigit(static_cast<unsigned char>(h)))
        syntax_error(line, "bad escape in string literal");
    i += digits;
    const auto cp = static_cast<char32_t>(std::stoul(hex, nullptr, 16));
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      syntax_error(line, "escape is not a Unicode scalar value");
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

}  // namespace

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
      if (end == std::string::npos) syntax_error(line, "unclosed comment");
    } else {
      end = find_tag_end(src, inner_begin, kind == '{' ? '}' : '%', line);
    }
    const char close_mod = end > inner_begin ? src[end - 1] : 0;
    const std::size_t inner_end = (close_mod == '-' || close_mod == '+') ? end - 1 : end;
    if (kind != '#') {
      chunks.push_back({kind == '{' ? Chunk::Kind::kOutput : Chunk::Kind::kStatement,
                        src.substr(inner_begin, inner_end - std::min(inner_end, inner_begin)),
                        line});
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

std::vector<Token> tokenize_expression(const std::string& s, int line) {
  static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*",
                                     "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                     "]",  "{",  "}",  ",",  ".",  ":",  "|"};
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
          syntax_error(line, "integer literal out of range");
        }
      }
    } else if (c == '\'' || c == '"') {
      ++i;
      t.kind = Token::Kind::kString;
      while (true) {
        if (i >= s.size()) syntax_error(line, "unterminated string literal");
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
      if (!found) syntax_error(line, std::string("unexpected character '") + c + "'");
    }
    tokens.push_back(std::move(t));
  }
  tokens.push_back(Token{});
  return tokens;
}

}  // namespace localmoe::jinja
