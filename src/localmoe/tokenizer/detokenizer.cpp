#include "localmoe/tokenizer/detokenizer.h"

#include <span>

#include "localmoe/base/error.h"

namespace localmoe {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer) {
  options_.skip_special_tokens = skip_special_tokens;
  options_.clean_up_tokenization_spaces = false;
}

bool IncrementalDetokenizer::is_byte_token(int32_t id) const {
  const auto token = tokenizer_.id_to_token(id);
  return token && token->size() == 6 && token->starts_with("<0x") && token->back() == '>';
}

std::string IncrementalDetokenizer::add(int32_t id) {
  ids_.push_back(id);
  // A run of byte tokens decodes as a whole (or as one U+FFFD per byte when
  // invalid), so nothing after its start is final until the run ends.
  if (is_byte_token(id)) return {};
  options_.continuation = window_start_ > 0;
  const std::string text = tokenizer_.decode(std::span(ids_).subspan(window_start_), options_);
  LM_CHECK(text.compare(0, window_emitted_.size(), window_emitted_) == 0);
  std::size_t stable = text.size();
  while (stable >= kReplacement.size() + window_emitted_.size() &&
         text.compare(stable - kReplacement.size(), kReplacement.size(), kReplacement) == 0)
    stable -= kReplacement.size();
  std::string delta =
      text.substr(window_emitted_.size(), stable - std::min(stable, window_emitted_.size()));
  if (stable == text.size()) {
    window_start_ = ids_.size();
    window_emitted_.clear();
  } else {
    window_emitted_ += delta;
  }
  return delta;
}

std::string IncrementalDetokenizer::finish() {
  if (window_start_ == ids_.size()) return {};
  options_.continuation = window_start_ > 0;
  const std::string text = tokenizer_.decode(std::span(ids_).subspan(window_start_), options_);
  LM_CHECK(text.compare(0, window_emitted_.size(), window_emitted_) == 0);
  std::string delta = text.substr(window_emitted_.size());
  window_start_ = ids_.size();
  window_emitted_.clear();
  return delta;
}

}  // namespace localmoe
