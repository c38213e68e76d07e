#include "localmoe/config/config_diagnostic.h"

#include <algorithm>

namespace localmoe {
namespace {

std::string join_errors(const std::vector<ConfigDiagnostic>& errors) {
  std::string out = std::to_string(errors.size()) +
                    (errors.size() == 1 ? " problem" : " problems") + " in the configuration:";
  for (const ConfigDiagnostic& d : errors) {
    out += "\n  ";
    out += d.to_string();
  }
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of adjacent letters ("fsat" -> "fast") each cost 1.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string SourceLocation::to_string() const {
  if (line <= 0) return origin;
  return origin + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigDiagnostic::to_string() const {
  std::string out = location.to_string();
  out += ": ";
  if (severity == Severity::kNotice) out += "notice: ";
  if (!key.empty()) {
    out += key;
    out += ": ";
  }
  out += message;
  return out;
}

ConfigError::ConfigError(std::vector<ConfigDiagnostic> errors)
    : Error(ErrorKind::kInvalidArgument, join_errors(errors)), errors_(std::move(errors)) {}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // Misspellings are judged on short keys; bound the work for long inputs.
  if (word.size() > 64) return {};
  if (word.empty()) return {};
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace localmoe
