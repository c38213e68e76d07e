#include "localmoe/engine/token_ids.h"

#include "localmoe/base/error.h"

namespace localmoe {

void validate_token_ids(std::span<const int32_t> ids, int64_t vocab_size, std::string_view what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size) {
      throw make_error(ErrorKind::kInvalidArgument, what, " token ", i, " is ", ids[i],
                       ", outside the vocabulary [0, ", vocab_size, ")");
    }
  }
}

}  // namespace localmoe
