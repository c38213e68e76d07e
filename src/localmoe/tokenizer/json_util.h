#pragma once
// Checked reads of integers from tokenizer files: a value that is not an
// integer in [min, max] is an input error, never a silent (or undefined)
// conversion.

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"

namespace localmoe {

// Token ids above this are rejected: no vocabulary comes near, and the id
// table is sized by the largest id.
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

inline int64_t json_integer(const nlohmann::json& v, std::string_view what, int64_t min,
                            int64_t max) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(max) && static_cast<int64_t>(u) >= min)
      return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= min && i <= max) return i;
  }
  throw make_error(ErrorKind::kInvalidArgument, what, ": expected an integer in [", min, ", ", max,
                   "]");
}

}  // namespace localmoe
