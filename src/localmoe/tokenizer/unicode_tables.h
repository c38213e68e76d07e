#pragma once
// Raw Unicode data tables, generated at build time by gen_unicode_tables.py
// (see that script for why generated tables rather than ICU). unicode.h is
// the API; only unicode.cpp reads these arrays.

#include <cstddef>
#include <cstdint>

namespace localmoe::unicode_tables {

// A run [first, last] of code points sharing one CharClass value.
struct ClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t char_class;
};

// Canonical combining class of one code point (only non-zero ones listed).
struct CombiningClass {
  uint32_t code_point;
  uint8_t ccc;
};

// Canonical decomposition of one code point into one or two code points
// (second == 0 for singletons); applied recursively.
struct Decomposition {
  uint32_t code_point;
  uint32_t first;
  uint32_t second;
};

// A primary composite: first + second compose to `composite` under NFC.
struct Composition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};

// Python's case mappings of one code point (each up to 3 code points,
// 0-padded) and whether it is cased; only non-trivial entries are listed.
struct CaseMapping {
  uint32_t code_point;
  uint32_t upper[3];
  uint32_t lower[3];
  uint32_t title[3];
  uint8_t cased;
};

extern const ClassRange kClassRanges[];
extern const std::size_t kNumClassRanges;
extern const CombiningClass kCombiningClasses[];
extern const std::size_t kNumCombiningClasses;
extern const Decomposition kDecompositions[];  // sorted by code_point
extern const std::size_t kNumDecompositions;
extern const Composition kCompositions[];  // sorted by (first, second)
extern const std::size_t kNumCompositions;
extern const CaseMapping kCaseMappings[];  // sorted by code_point
extern const std::size_t kNumCaseMappings;

}  // namespace localmoe::unicode_tables
