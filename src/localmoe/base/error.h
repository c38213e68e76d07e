#pragma once
// The three error channels of LocalMoE (see CONTRIBUTING.md):
//   1. bugs            -> LM_CHECK / LM_DCHECK abort with file:line and values;
//   2. bad input       -> localmoe::Error exceptions with a kind and a context chain;
//   3. capacity limits -> return values (std::optional, enum class), never here.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace localmoe {

// What went wrong with the input; the server maps each kind to an HTTP status
// and an OpenAI error type in one place.
enum class ErrorKind {
  kInvalidArgument,  // a value is malformed or out of range
  kNotFound,         // a file, tensor, key or id does not exist
  kUnsupported,      // well-formed, but a feature we do not implement
  kIo,               // the operating system refused (open, read, mmap)
  kCorrupt,          // a file's structure contradicts itself (offsets, sizes)
};

std::string_view error_kind_name(ErrorKind kind);

// An input error. `message` says what is wrong; `context` is the chain of
// places it was found in, innermost first (tensor, then file, ...), so the
// final text reads "file 'x.safetensors': tensor 'w': offsets ...".
class Error : public std::exception {
 public:
  Error(ErrorKind kind, std::string message);

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& context() const { return context_; }

  // Adds an outer place ("file 'model.safetensors'") and returns *this, for
  // catch-and-rethrow at each boundary: `catch (Error& e) { throw e.with_context(..); }`.
  Error& with_context(std::string where);

  const char* what() const noexcept override { return what_.c_str(); }

 private:
  void rebuild_what();

  ErrorKind kind_;
  std::string message_;
  std::vector<std::string> context_;  // innermost first
  std::string what_;
};

// Builds an Error message from streamable parts:
// throw make_error(ErrorKind::kCorrupt, "tensor '", name, "' ends past the file");
template <typename... Parts>
Error make_error(ErrorKind kind, const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return Error(kind, out.str());
}

namespace detail {
[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const std::string& values);

template <typename A, typename B>
std::string format_operands(const A& a, const B& b) {
  std::ostringstream out;
  out << "(" << a << " vs " << b << ")";
  return out.str();
}
}  // namespace detail

}  // namespace localmoe

// Invariants of our own code. A failure is a bug: print and abort.
#define LM_CHECK(cond)                                                            \
  do {                                                                            \
    if (!(cond)) ::localmoe::detail::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define LM_CHECK_OP_(a, op, b)                                                             \
  do {                                                                                     \
    const auto& lm_a_ = (a);                                                               \
    const auto& lm_b_ = (b);                                                               \
    if (!(lm_a_ op lm_b_))                                                                 \
      ::localmoe::detail::check_failed(__FILE__, __LINE__, #a " " #op " " #b,              \
                                       ::localmoe::detail::format_operands(lm_a_, lm_b_)); \
  } while (0)

#define LM_CHECK_EQ(a, b) LM_CHECK_OP_(a, ==, b)
#define LM_CHECK_NE(a, b) LM_CHECK_OP_(a, !=, b)
#define LM_CHECK_LT(a, b) LM_CHECK_OP_(a, <, b)
#define LM_CHECK_LE(a, b) LM_CHECK_OP_(a, <=, b)
#define LM_CHECK_GT(a, b) LM_CHECK_OP_(a, >, b)
#define LM_CHECK_GE(a, b) LM_CHECK_OP_(a, >=, b)

#ifdef NDEBUG
#define LM_DCHECK(cond) \
  do {                  \
  } while (0)
#define LM_DCHECK_LT(a, b) LM_DCHECK((a) < (b))
#define LM_DCHECK_LE(a, b) LM_DCHECK((a) <= (b))
#define LM_DCHECK_EQ(a, b) LM_DCHECK((a) == (b))
#else
#define LM_DCHECK(cond) LM_CHECK(cond)
#define LM_DCHECK_LT(a, b) LM_CHECK_LT(a, b)
#define LM_DCHECK_LE(a, b) LM_CHECK_LE(a, b)
#define LM_DCHECK_EQ(a, b) LM_CHECK_EQ(a, b)
#endif
