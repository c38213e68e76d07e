#include "localmoe/engine/stop_checker.h"

#include <algorithm>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

StopChecker::StopChecker(const SamplingParams& params, const Tokenizer* tokenizer,
                         std::span<const int64_t> eos_token_ids, int64_t max_new_tokens)
    : stop_(params.stop),
      stop_token_ids_(params.stop_token_ids),
      include_stop_str_in_output_(params.include_stop_str_in_output),
      min_tokens_(params.min_tokens),
      max_new_tokens_(max_new_tokens) {
  LM_CHECK_GE(max_new_tokens, 1);
  LM_CHECK(tokenizer != nullptr || stop_.empty());
  if (tokenizer != nullptr) detokenizer_.emplace(*tokenizer, params.skip_special_tokens);
  LM_CHECK_LE(max_new_tokens, params.max_tokens);
  if (!params.ignore_eos) {
    for (int64_t id : eos_token_ids) eos_token_ids_.push_back(static_cast<int32_t>(id));
  }
  for (const std::string& s : stop_) max_stop_length_ = std::max(max_stop_length_, s.size());
  window_.reserve(4 * max_stop_length_ + 64);
}

StopStep StopChecker::add(int32_t token_id) {
  LM_CHECK(!finished_);
  StopStep step;
  ++num_tokens_;
  const bool may_stop = num_tokens_ > min_tokens_;
  const bool is_eos = may_stop && contains(eos_token_ids_, token_id);
  const bool is_stop_id = may_stop && !is_eos && contains(stop_token_ids_, token_id);
  const bool ends_by_token = is_eos || is_stop_id;

  // A stop token's own text is kept only on request; a stop string inside
  // it then still counts (and is reported) first, as in vLLM.
  if (!ends_by_token || include_stop_str_in_output_) {
    if (detokenizer_ && feed(detokenizer_->add(token_id), may_stop, step)) return step;
  }
  if (!ends_by_token && num_tokens_ < max_new_tokens_) return step;

  // The request ends with this token: the detokenizer's unfinished bytes and
  // the held-back text are final now (and may still complete a stop string).
  if (detokenizer_ && feed(detokenizer_->finish(), may_stop, step)) return step;
  step.text.append(window_, released_);
  Finish result;
  if (ends_by_token) {
    result.reason = FinishReason::kStop;
    if (is_stop_id) result.stop_token_id = token_id;
  }
  finish(result, step);
  return step;
}

bool StopChecker::feed(std::string_view delta, bool may_stop, StopStep& step) {
  const size_t old_size = window_.size();
  window_ += delta;
  if (may_stop && !delta.empty()) {
    // The stop string completing earliest in the new text wins (what
    // character-by-character streaming would see); ties go to list order.
    size_t best_end = std::string::npos, best_start = 0, best_index = 0;
    for (size_t i = 0; i < stop_.size(); ++i) {
      const std::string& s = stop_[i];
      // A new match ends after old_size, so it starts at old_size - |s| + 1 or later.
      const size_t from = old_size + 1 > s.size() ? old_size + 1 - s.size() : 0;
      const size_t start = window_.find(s, from);
      if (start != std::string::npos && start + s.size() < best_end) {
        best_end = start + s.size();
        best_start = start;
        best_index = i;
      }
    }
    if (best_end != std::string::npos) {
      const size_t cut = include_stop_str_in_output_ ? best_end : best_start;
      LM_DCHECK(cut >= released_);
      step.text.append(window_, released_, cut - released_);
      Finish result;
      result.reason = FinishReason::kStop;
      result.stop_string_index = best_index;
      finish(result, step);
      return true;
    }
  }
  const size_t end = window_.size() - held_back_length();
  step.text.append(window_, released_, end - released_);
  released_ = end;
  // Keep only what a future match can start in: the held-back text, plus,
  // when stop strings stay in the output, the last |longest stop| - 1 bytes.
  const size_t keep_released = include_stop_str_in_output_ && max_stop_length_ > 0
                                   ? std::min(released_, max_stop_length_ - 1)
                                   : 0;
  window_.erase(0, released_ - keep_released);
  released_ = keep_released;
  return false;
}

size_t StopChecker::held_back_length() const {
  if (include_stop_str_in_output_) return 0;
  // Released text never starts a possible match (it was not held back when
  // it was released, so no stop string could continue from it), so the
  // search stays within the unreleased part.
  const std::string_view pending = std::string_view(window_).substr(released_);
  size_t held = 0;
  for (const std::string& s : stop_) {
    for (size_t length = std::min(s.size() - 1, pending.size()); length > held; --length) {
      if (pending.ends_with(std::string_view(s).substr(0, length))) {
        held = length;
        break;
      }
    }
  }
  return held;
}

void StopChecker::finish(const Finish& result, StopStep& step) {
  step.finish = result;
  finished_ = true;
  window_.clear();
  released_ = 0;
}

}  // namespace localmoe
