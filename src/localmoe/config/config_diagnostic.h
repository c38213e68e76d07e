#pragma once
// Problems found in a configuration, each tied to where it was written
// (file:line:column, a `--set` argument or an environment variable) and the
// key path it concerns. The loader and the validator collect them all, then
// throw one ConfigError so the user sees every problem in one run.

#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/error.h"

namespace localmoe {

// Where a value came from. `line` and `column` are 1-based; 0 = not a file position.
struct SourceLocation {
  std::string origin;  // a file path, "--set engine.x=1", "environment LOCALMOE_API_KEY", "default"
  int line = 0;
  int column = 0;

  // "configs/a.yaml:12:5", or the origin alone when there is no position.
  std::string to_string() const;
};

enum class Severity { kError, kNotice };

struct ConfigDiagnostic {
  Severity severity = Severity::kError;
  SourceLocation location;
  std::string key;      // "engine.block_size", or "" for the document as a whole
  std::string message;  // what is wrong and what would fix it

  // "configs/a.yaml:12:5: engine.block_size: ..." (with "notice: " for notices).
  std::string to_string() const;
};

// An invalid configuration: every error found, in order. kind() is kInvalidArgument.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<ConfigDiagnostic> errors);
  const std::vector<ConfigDiagnostic>& errors() const { return errors_; }

 private:
  std::vector<ConfigDiagnostic> errors_;
};

// The candidate closest to `word` by edit distance, if it is close enough to be
// a plausible misspelling (at most a third of the word's length, and at least 1).
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace localmoe
