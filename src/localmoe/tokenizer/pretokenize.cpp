#include "localmoe/tokenizer/pretokenize.h"

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

// ---------------------------------------------------------------- regexes

namespace {

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The text as code points with their byte offsets (offsets has one more
// entry: the end of the text).
struct CodePoints {
  std::vector<char32_t> cps;
  std::vector<std::size_t> offsets;
};

void decode_code_points(std::string_view text, CodePoints& out) {
  out.cps.clear();
  out.offsets.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    out.offsets.push_back(pos);
    out.cps.push_back(utf8_next(text, pos));
  }
  out.offsets.push_back(text.size());
}

bool is_other(char32_t c) {
  return !is_whitespace(c) && !is_letter(c) && !is_number(c);
}
bool is_newline(char32_t c) {
  return c == '\r' || c == '\n';
}

// Case-insensitive comparison for the contraction letters; Unicode simple
// case folding also maps U+017F (long s) to 's'.
bool folds_to(char32_t c, char lower) {
  if (c < 0x80) return (c | 0x20) == static_cast<char32_t>(lower);
  return lower == 's' && c == 0x17F;
}

// Length (in code points) of a contraction match at i, or 0.
std::size_t match_contraction(const std::vector<char32_t>& c, std::size_t i, bool ignore_case) {
  const std::size_t n = c.size();
  if (c[i] != '\'' || i + 1 >= n) return 0;
  auto eq = [&](std::size_t k, char want) {
    return k < n && (ignore_case ? folds_to(c[k], want) : c[k] == static_cast<char32_t>(want));
  };
  if (eq(i + 1, 's') || eq(i + 1, 't') || eq(i + 1, 'm') || eq(i + 1, 'd')) return 2;
  if ((eq(i + 1, 'r') && eq(i + 2, 'e')) || (eq(i + 1, 'v') && eq(i + 2, 'e')) ||
      (eq(i + 1, 'l') && eq(i + 2, 'l')))
    return 3;
  return 0;
}

// End of the whitespace run starting at i.
std::size_t whitespace_run_end(const std::vector<char32_t>& c, std::size_t i) {
  while (i < c.size() && is_whitespace(c[i])) ++i;
  return i;
}

// \s+(?!\S)|\s+ at i, where c[i] is whitespace.
std::size_t match_trailing_whitespace(const std::vector<char32_t>& c, std::size_t i) {
  const std::size_t end = whitespace_run_end(c, i);
  if (end == c.size() || end - i == 1) return end;
  return end - 1;  // leave the last space to prefix the next word
}

std::size_t match_gpt2(const std::vector<char32_t>& c, std::size_t i) {
  const std::size_t n = c.size();
  if (std::size_t len = match_contraction(c, i, /*ignore_case=*/false)) return i + len;
  const std::size_t j = (c[i] == ' ' && i + 1 < n) ? i + 1 : i;  // the optional leading space
  if (is_letter(c[j])) {
    std::size_t k = j + 1;
    while (k < n && is_letter(c[k])) ++k;
    return k;
  }
  if (is_number(c[j])) {
    std::size_t k = j + 1;
    while (k < n && is_number(c[k])) ++k;
    return k;
  }
  if (is_other(c[j])) {
    std::size_t k = j + 1;
    while (k < n && is_other(c[k])) ++k;
    return k;
  }
  return match_trailing_whitespace(c, i);
}

std::size_t match_llama3(const std::vector<char32_t>& c, std::size_t i, std::size_t max_digits) {
  const std::size_t n = c.size();
  if (std::size_t len = match_contraction(c, i, /*ignore_case=*/true)) return i + len;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  std::size_t j = i;
  if (!is_letter(c[i]) && !is_number(c[i]) && !is_newline(c[i]) && i + 1 < n && is_letter(c[i + 1]))
    j = i + 1;
  if (is_letter(c[j])) {
    std::size_t k = j + 1;
    while (k < n && is_letter(c[k])) ++k;
    return k;
  }
  // \p{N}{1,max}
  if (is_number(c[i])) {
    std::size_t k = i + 1;
    while (k < n && k - i < max_digits && is_number(c[k])) ++k;
    return k;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  j = (c[i] == ' ' && i + 1 < n) ? i + 1 : i;
  if (is_other(c[j])) {
    std::size_t k = j + 1;
    while (k < n && is_other(c[k])) ++k;
    while (k < n && is_newline(c[k])) ++k;
    return k;
  }
  // \s*[\r\n]+ : the run up to and including its last newline
  const std::size_t end = whitespace_run_end(c, i);
  for (std::size_t k = end; k > i; --k)
    if (is_newline(c[k - 1])) return k;
  return match_trailing_whitespace(c, i);
}

}  // namespace

std::optional<SplitRegex> recognize_split_regex(std::string_view pattern) {
  if (pattern == kGpt2Pattern) return SplitRegex::kGpt2;
  if (pattern == kLlama3Pattern) return SplitRegex::kLlama3;
  if (pattern == kQwen2Pattern) return SplitRegex::kQwen2;
  return std::nullopt;
}

void split_by_regex(SplitRegex regex, std::string_view text,
                    std::vector<std::string_view>& pieces) {
  thread_local CodePoints cp;
  decode_code_points(text, cp);
  std::size_t i = 0;
  while (i < cp.cps.size()) {
    std::size_t end = 0;
    switch (regex) {
      case SplitRegex::kGpt2: end = match_gpt2(cp.cps, i); break;
      case SplitRegex::kLlama3: end = match_llama3(cp.cps, i, 3); break;
      case SplitRegex::kQwen2: end = match_llama3(cp.cps, i, 1); break;
    }
    LM_DCHECK(end > i);
    pieces.push_back(text.substr(cp.offsets[i], cp.offsets[end] - cp.offsets[i]));
    i = end;
  }
}

// ---------------------------------------------------------------- byte level

namespace {

// GPT-2's map: printable Latin-1 bytes stand for themselves, the other 68
// bytes take the code points 256, 257, ... in byte order.
std::array<char32_t, 256> byte_level_code_points() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

}  // namespace

const std::array<std::string, 256>& byte_level_alphabet() {
  static const auto kAlphabet = [] {
    std::array<std::string, 256> out;
    const auto cps = byte_level_code_points();
    for (int b = 0; b < 256; ++b) utf8_append(out[b], cps[b]);
    return out;
  }();
  return kAlphabet;
}

int byte_level_byte(char32_t cp) {
  static const auto kInverse = [] {
    std::array<int16_t, 512> inv;
    inv.fill(-1);
    const auto cps = byte_level_code_points();
    for (int b = 0; b < 256; ++b) inv[cps[b]] = static_cast<int16_t>(b);
    return inv;
  }();
  return cp < kInverse.size() ? kInverse[cp] : -1;
}

PrependScheme parse_prepend_scheme(const std::string& name) {
  if (name == "always") return PrependScheme::kAlways;
  if (name == "first") return PrependScheme::kFirst;
  if (name == "never") return PrependScheme::kNever;
  throw make_error(ErrorKind::kInvalidArgument, "unknown prepend_scheme '", name, "'");
}

// ---------------------------------------------------------------- pipeline

struct PreTokenizer::Step {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  Kind kind = Kind::kSplit;
  SplitRegex regex = SplitRegex::kGpt2;                   // kSplit
  bool add_prefix_space = false;                          // kByteLevel
  bool use_regex = false;                                 // kByteLevel
  std::string replacement;                                // kMetaspace, UTF-8
  PrependScheme prepend_scheme = PrependScheme::kAlways;  // kMetaspace
  bool split = true;                                      // kMetaspace
};

PreTokenizer::PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

namespace {

void parse_step(const nlohmann::json& v, std::vector<PreTokenizer::Step>& steps);

}  // namespace

PreTokenizer PreTokenizer::from_json(const nlohmann::json& value) {
  PreTokenizer out;
  if (!value.is_null()) parse_step(value, out.steps_);
  return out;
}

PreTokenizer PreTokenizer::byte_level_gpt2() {
  PreTokenizer out;
  Step step;
  step.kind = Step::Kind::kByteLevel;
  step.use_regex = true;
  out.steps_.push_back(step);
  return out;
}

bool PreTokenizer::byte_level() const {
  for (const auto& s : steps_)
    if (s.kind == Step::Kind::kByteLevel) return true;
  return false;
}

namespace {

void parse_step(const nlohmann::json& v, std::vector<PreTokenizer::Step>& steps) {
  using Step = PreTokenizer::Step;
  if (!v.is_object() || !v.contains("type") || !v["type"].is_string())
    throw make_error(ErrorKind::kInvalidArgument,
                     "pre_tokenizer: expected an object with a \"type\"");
  const std::string type = v["type"];
  if (type == "Sequence") {
    for (const auto& inner : v.at("pretokenizers")) parse_step(inner, steps);
    return;
  }
  Step step;
  if (type == "Split") {
    const auto& pattern = v.at("pattern");
    if (!pattern.contains("Regex"))
      throw make_error(ErrorKind::kUnsupported,
                       "pre_tokenizer Split: only Regex patterns are supported");
    const std::string regex = pattern["Regex"];
    const auto known = recognize_split_regex(regex);
    if (!known)
      throw make_error(ErrorKind::kUnsupported, "pre_tokenizer Split: unsupported regex '", regex,
                       "'");
    if (v.value("behavior", std::string("Isolated")) != "Isolated" || v.value("invert", false))
      throw make_error(ErrorKind::kUnsupported,
                       "pre_tokenizer Split: only behavior Isolated without invert");
    step.kind = Step::Kind::kSplit;
    step.regex = *known;
  } else if (type == "ByteLevel") {
    step.kind = Step::Kind::kByteLevel;
    step.add_prefix_space = v.value("add_prefix_space", true);
    step.use_regex = v.value("use_regex", true);
  } else if (type == "Metaspace") {
    step.kind = Step::Kind::kMetaspace;
    step.replacement = v.value("replacement", std::string("\xE2\x96\x81"));
    if (step.replacement.empty())
      throw make_error(ErrorKind::kInvalidArgument, "pre_tokenizer Metaspace: empty replacement");
    if (v.contains("prepend_scheme") && v["prepend_scheme"].is_string()) {
      step.prepend_scheme = parse_prepend_scheme(v["prepend_scheme"]);
    } else {
      step.prepend_scheme =
          v.value("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    step.split = v.value("split", true);
  } else {
    throw make_error(ErrorKind::kUnsupported, "pre_tokenizer type '", type, "' is not supported");
  }
  steps.push_back(std::move(step));
}

void byte_level_map(std::string_view piece, std::string& out) {
  const auto& alphabet = byte_level_alphabet();
  out.clear();
  out.reserve(piece.size() * 2);
  for (unsigned char b : piece) out += alphabet[b];
}

}  // namespace

void PreTokenizer::pre_tokenize(std::string_view segment, bool at_text_start,
                                std::vector<std::string>& words) const {
  words.clear();
  words.emplace_back(segment);
  std::vector<std::string> next;
  std::vector<std::string_view> pieces;
  for (const Step& step : steps_) {
    next.clear();
    for (std::size_t w = 0; w < words.size(); ++w) {
      std::string& word = words[w];
      switch (step.kind) {
        case Step::Kind::kSplit:
          pieces.clear();
          split_by_regex(step.regex, word, pieces);
          for (auto p : pieces) next.emplace_back(p);
          break;
        case Step::Kind::kByteLevel: {
          if (step.add_prefix_space && !word.starts_with(' ')) word.insert(0, 1, ' ');
          pieces.clear();
          if (step.use_regex) {
            split_by_regex(SplitRegex::kGpt2, word, pieces);
          } else {
            pieces.push_back(word);
          }
          for (auto p : pieces) byte_level_map(p, next.emplace_back());
          break;
        }
        case Step::Kind::kMetaspace: {
          std::string replaced;
          for (char ch : word) {
            if (ch == ' ') {
              replaced += step.replacement;
            } else {
              replaced.push_back(ch);
            }
          }
          const bool prepend =
              step.prepend_scheme == PrependScheme::kAlways ||
              (step.prepend_scheme == PrependScheme::kFirst && at_text_start && w == 0);
          if (prepend && !replaced.starts_with(step.replacement))
            replaced.insert(0, step.replacement);
          if (!step.split) {
            next.push_back(std::move(replaced));
            break;
          }
          // Each replacement character starts a new word (MergedWithNext).
          std::size_t start = 0;
          for (std::size_t pos = replaced.find(step.replacement, 1); pos != std::string::npos;
               pos = replaced.find(step.replacement, pos + 1)) {
            next.push_back(replaced.substr(start, pos - start));
            start = pos;
          }
          if (start < replaced.size()) next.push_back(replaced.substr(start));
          break;
        }
      }
    }
    words.swap(next);
  }
  std::erase_if(words, [](const std::string& w) { return w.empty(); });
}

}  // namespace localmoe
