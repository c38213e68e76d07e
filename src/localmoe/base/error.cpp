#include "localmoe/base/error.h"

namespace localmoe {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kCorrupt: return "corrupt";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {
  rebuild_what();
}

Error& Error::with_context(std::string where) {
  context_.push_back(std::move(where));
  rebuild_what();
  return *this;
}

void Error::rebuild_what() {
  what_.clear();
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    what_ += *it;
    what_ += ": ";
  }
  what_ += message_;
}

namespace detail {
void check_failed(const char* file, int line, const char* condition, const std::string& values) {
  std::fprintf(stderr, "%s:%d: LM_CHECK failed: %s %s\n", file, line, condition, values.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace localmoe
