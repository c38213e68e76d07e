#include "localmoe/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <vector>

#include "localmoe/tokenizer/unicode_tables.h"

namespace localmoe {

namespace ut = unicode_tables;

// ---------------------------------------------------------------- UTF-8

namespace {

bool in_range(unsigned char byte, unsigned char lo, unsigned char hi) {
  return byte >= lo && byte <= hi;
}

// Allowed range of the second byte for a given lead (Unicode Table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0: return in_range(byte, 0xA0, 0xBF);
    case 0xED: return in_range(byte, 0x80, 0x9F);
    case 0xF0: return in_range(byte, 0x90, 0xBF);
    case 0xF4: return in_range(byte, 0x80, 0x8F);
    default: return in_range(byte, 0x80, 0xBF);
  }
}

}  // namespace

int utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (in_range(lead, 0xC2, 0xDF)) return 2;
  if (in_range(lead, 0xE0, 0xEF)) return 3;
  if (in_range(lead, 0xF0, 0xF4)) return 4;
  return 1;
}

char32_t utf8_next(std::string_view text, std::size_t& pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const int length = utf8_sequence_length(lead);
  if (length == 1) {  // stray continuation byte or invalid lead
    ++pos;
    return kReplacementChar;
  }
  char32_t cp = lead & (0xFF >> (length + 1));
  std::size_t i = pos + 1;
  for (int k = 1; k < length; ++k, ++i) {
    if (i >= text.size()) {
      pos = i;
      return kReplacementChar;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool ok = k == 1 ? second_byte_ok(lead, byte) : in_range(byte, 0x80, 0xBF);
    if (!ok) {
      pos = i;  // the maximal subpart ends before the offending byte
      return kReplacementChar;
    }
    cp = (cp << 6) | (byte & 0x3F);
  }
  pos = i;
  return cp;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool utf8_is_valid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t before = pos;
    const char32_t cp = utf8_next(text, pos);
    if (cp == kReplacementChar && text.compare(before, pos - before, "\xEF\xBF\xBD") != 0)
      return false;
  }
  return true;
}

std::string utf8_sanitize(std::string_view text) {
  if (utf8_is_valid(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t pos = 0;
  while (pos < text.size()) utf8_append(out, utf8_next(text, pos));
  return out;
}

// ---------------------------------------------------------------- classes

namespace {

CharClass lookup_class(char32_t cp) {
  const ut::ClassRange* begin = ut::kClassRanges;
  const ut::ClassRange* end = ut::kClassRanges + ut::kNumClassRanges;
  const auto* it = std::upper_bound(
      begin, end, cp, [](char32_t v, const ut::ClassRange& r) { return v < r.first; });
  if (it == begin) return CharClass::kUnassigned;
  --it;
  return cp <= it->last ? static_cast<CharClass>(it->char_class) : CharClass::kUnassigned;
}

// The Basic Multilingual Plane in a flat table: one load per character on
// the pre-tokenizer's hot path.
const std::array<uint8_t, 0x10000>& bmp_classes() {
  static const auto kTable = [] {
    std::array<uint8_t, 0x10000> t{};
    for (std::size_t i = 0; i < ut::kNumClassRanges; ++i) {
      const auto& r = ut::kClassRanges[i];
      if (r.first >= 0x10000) break;
      for (uint32_t cp = r.first; cp <= std::min<uint32_t>(r.last, 0xFFFF); ++cp)
        t[cp] = r.char_class;
    }
    return t;
  }();
  return kTable;
}

}  // namespace

CharClass char_class(char32_t cp) {
  if (cp < 0x10000) return static_cast<CharClass>(bmp_classes()[cp]);
  return lookup_class(cp);
}

bool is_whitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

// ---------------------------------------------------------------- case

namespace {

const ut::CaseMapping* find_case(char32_t cp) {
  const auto* begin = ut::kCaseMappings;
  const auto* end = begin + ut::kNumCaseMappings;
  const auto* it = std::lower_bound(
      begin, end, cp, [](const ut::CaseMapping& m, char32_t v) { return m.code_point < v; });
  return it != end && it->code_point == cp ? it : nullptr;
}

bool is_cased(char32_t cp) {
  const auto* m = find_case(cp);
  return m != nullptr && m->cased != 0;
}

enum class CaseMap { kUpper, kLower, kTitle };

void append_mapped(std::string& out, char32_t cp, CaseMap which) {
  const auto* m = find_case(cp);
  if (m == nullptr) {
    utf8_append(out, cp);
    return;
  }
  const uint32_t* mapped = which == CaseMap::kUpper   ? m->upper
                           : which == CaseMap::kLower ? m->lower
                                                      : m->title;
  for (int i = 0; i < 3 && mapped[i] != 0; ++i) utf8_append(out, mapped[i]);
}

std::vector<char32_t> code_points_of(std::string_view text) {
  std::vector<char32_t> cps;
  std::size_t pos = 0;
  while (pos < text.size()) cps.push_back(utf8_next(text, pos));
  return cps;
}

// Lower-cases cps[i], applying Python's final-sigma rule: a capital sigma
// preceded by a cased letter and not followed by one becomes 'ς'.
void append_lower(std::string& out, const std::vector<char32_t>& cps, std::size_t i) {
  constexpr char32_t kCapitalSigma = 0x3A3;
  if (cps[i] == kCapitalSigma) {
    const bool after_cased = i > 0 && is_cased(cps[i - 1]);
    const bool before_cased = i + 1 < cps.size() && is_cased(cps[i + 1]);
    if (after_cased && !before_cased) {
      utf8_append(out, 0x3C2);
      return;
    }
  }
  append_mapped(out, cps[i], CaseMap::kLower);
}

}  // namespace

std::string python_upper(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : code_points_of(text)) append_mapped(out, cp, CaseMap::kUpper);
  return out;
}

std::string python_lower(std::string_view text) {
  const auto cps = code_points_of(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < cps.size(); ++i) append_lower(out, cps, i);
  return out;
}

std::string python_title(std::string_view text) {
  const auto cps = code_points_of(text);
  std::string out;
  out.reserve(text.size());
  bool previous_cased = false;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    if (previous_cased) {
      append_lower(out, cps, i);
    } else {
      append_mapped(out, cps[i], CaseMap::kTitle);
    }
    previous_cased = is_cased(cps[i]);
  }
  return out;
}

std::string python_capitalize(std::string_view text) {
  const auto cps = code_points_of(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      append_mapped(out, cps[i], CaseMap::kTitle);
    } else {
      append_lower(out, cps, i);
    }
  }
  return out;
}

// ---------------------------------------------------------------- NFC / NFD

namespace {

constexpr char32_t kHangulSBase = 0xAC00, kHangulLBase = 0x1100, kHangulVBase = 0x1161,
                   kHangulTBase = 0x11A7;
constexpr int kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr int kHangulNCount = kHangulVCount * kHangulTCount,
              kHangulSCount = kHangulLCount * kHangulNCount;

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* begin = ut::kCombiningClasses;
  const auto* end = begin + ut::kNumCombiningClasses;
  const auto* it = std::lower_bound(
      begin, end, cp, [](const ut::CombiningClass& c, char32_t v) { return c.code_point < v; });
  return it != end && it->code_point == cp ? it->ccc : 0;
}

const ut::Decomposition* find_decomposition(char32_t cp) {
  const auto* begin = ut::kDecompositions;
  const auto* end = begin + ut::kNumDecompositions;
  const auto* it = std::lower_bound(
      begin, end, cp, [](const ut::Decomposition& d, char32_t v) { return d.code_point < v; });
  return it != end && it->code_point == cp ? it : nullptr;
}

void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kHangulSBase && cp < kHangulSBase + kHangulSCount) {
    const int s = static_cast<int>(cp - kHangulSBase);
    out.push_back(kHangulLBase + s / kHangulNCount);
    out.push_back(kHangulVBase + (s % kHangulNCount) / kHangulTCount);
    if (s % kHangulTCount != 0) out.push_back(kHangulTBase + s % kHangulTCount);
    return;
  }
  const auto* d = cp >= 0xC0 ? find_decomposition(cp) : nullptr;
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);
  if (d->second != 0) decompose(d->second, out);
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kHangulLBase && a < kHangulLBase + kHangulLCount && b >= kHangulVBase &&
      b < kHangulVBase + kHangulVCount)
    return kHangulSBase + ((a - kHangulLBase) * kHangulVCount + (b - kHangulVBase)) * kHangulTCount;
  if (a >= kHangulSBase && a < kHangulSBase + kHangulSCount &&
      (a - kHangulSBase) % kHangulTCount == 0 && b > kHangulTBase &&
      b < kHangulTBase + kHangulTCount)
    return a + (b - kHangulTBase);
  const auto* begin = ut::kCompositions;
  const auto* end = begin + ut::kNumCompositions;
  const auto* it = std::lower_bound(
      begin, end, std::pair{a, b}, [](const ut::Composition& c, std::pair<char32_t, char32_t> v) {
        return c.first != v.first ? c.first < v.first : c.second < v.second;
      });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

// Code points that can be the second half of a composition: their presence
// means NFC may change the text even without combining marks.
const std::vector<char32_t>& composition_seconds() {
  static const auto kSeconds = [] {
    std::vector<char32_t> v;
    for (std::size_t i = 0; i < ut::kNumCompositions; ++i) v.push_back(ut::kCompositions[i].second);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }();
  return kSeconds;
}

bool is_composite(char32_t cp) {
  static const auto kComposites = [] {
    std::vector<char32_t> v;
    for (std::size_t i = 0; i < ut::kNumCompositions; ++i)
      v.push_back(ut::kCompositions[i].composite);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return std::binary_search(kComposites.begin(), kComposites.end(), cp);
}

// A conservative quick check: true when NFC (and NFD, if `for_nfd`) cannot
// change the text, so the common case copies nothing.
bool normalization_is_identity(std::string_view text, bool for_nfd) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = utf8_next(text, pos);
    if (cp < 0xC0) continue;
    if (cp >= kHangulSBase && cp < kHangulSBase + kHangulSCount) {
      if (for_nfd) return false;
      continue;
    }
    if ((cp >= kHangulLBase && cp < 0x1200)) return false;
    if (combining_class(cp) != 0) return false;
    if (find_decomposition(cp) != nullptr && (for_nfd || !is_composite(cp))) return false;
    const auto& seconds = composition_seconds();
    if (std::binary_search(seconds.begin(), seconds.end(), cp)) return false;
  }
  return true;
}

std::vector<char32_t> canonical_decomposition(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) decompose(utf8_next(text, pos), cps);
  // Canonical ordering: stable sort of each run of non-starters by class.
  std::size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](char32_t a, char32_t b) {
      return combining_class(a) < combining_class(b);
    });
    i = j;
  }
  return cps;
}

}  // namespace

std::string nfd(std::string_view text) {
  if (normalization_is_identity(text, /*for_nfd=*/true)) return std::string(text);
  std::string out;
  for (char32_t cp : canonical_decomposition(text)) utf8_append(out, cp);
  return out;
}

std::string nfc(std::string_view text) {
  if (normalization_is_identity(text, /*for_nfd=*/false)) return std::string(text);
  std::vector<char32_t> cps = canonical_decomposition(text);
  // Canonical composition (UAX #15): each character joins the last starter
  // unless a character of equal or higher class sits between them.
  std::size_t starter = 0;
  bool have_starter = false;
  int last_class = 0;  // class of the last character kept after the starter
  std::size_t out_len = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    const int cls = combining_class(cp);
    const bool adjacent = have_starter && out_len == starter + 1;
    if (have_starter && (adjacent || (last_class != 0 && last_class < cls))) {
      const char32_t composite = compose_pair(cps[starter], cp);
      if (composite != 0) {
        cps[starter] = composite;
        continue;
      }
    }
    if (cls == 0) {
      starter = out_len;
      have_starter = true;
    }
    last_class = cls;
    cps[out_len++] = cp;
  }
  cps.resize(out_len);
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : cps) utf8_append(out, cp);
  return out;
}

}  // namespace localmoe
