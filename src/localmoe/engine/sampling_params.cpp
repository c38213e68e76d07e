#include "localmoe/engine/sampling_params.h"

#include <cmath>

#include "localmoe/base/error.h"

namespace localmoe {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) {
    throw make_error(ErrorKind::kInvalidArgument, "temperature must be >= 0, got ", temperature);
  }
  if (top_k < 0) throw make_error(ErrorKind::kInvalidArgument, "top_k must be >= 0, got ", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) {
    throw make_error(ErrorKind::kInvalidArgument, "top_p must be in (0, 1], got ", top_p);
  }
  if (!(min_p >= 0.0f && min_p <= 1.0f)) {
    throw make_error(ErrorKind::kInvalidArgument, "min_p must be in [0, 1], got ", min_p);
  }
  if (max_tokens < 1) {
    throw make_error(ErrorKind::kInvalidArgument, "max_tokens must be >= 1, got ", max_tokens);
  }
}

}  // namespace localmoe
