#include "localmoe/engine/model_runner.h"

#include "localmoe/base/error.h"

namespace localmoe {

ModelRunner::ModelRunner(Transformer& model, KvStorage& kv, int64_t max_num_seqs)
    : model_(model),
      kv_(kv),
      vocab_(model.config().vocab_size),
      builder_(model.block_size()),
      logits_(static_cast<size_t>(max_num_seqs * model.config().vocab_size)) {
  first_row_.reserve(static_cast<size_t>(max_num_seqs));
  sample_row_.reserve(static_cast<size_t>(max_num_seqs));
}

bool ModelRunner::wants_all_rows(const ScheduledRequest& scheduled) {
  return scheduled.request->sampling_params().prompt_logprobs.has_value() &&
         scheduled.num_computed_tokens < scheduled.request->num_prompt_tokens();
}

void ModelRunner::execute(const SchedulerOutput& output) {
  kv_.copy_blocks(output.copy_blocks);
  kv_.swap_out(output.swap_out);
  kv_.swap_in(output.swap_in);

  builder_.clear();
  first_row_.clear();
  sample_row_.clear();
  int64_t rows = 0;
  for (const ScheduledRequest& scheduled : output.requests) {
    const std::span<const int32_t> tokens =
        scheduled.request->token_ids().subspan(static_cast<size_t>(scheduled.num_computed_tokens),
                                               static_cast<size_t>(scheduled.num_scheduled_tokens));
    LogitsFor logits = scheduled.samples ? LogitsFor::kLastToken : LogitsFor::kNone;
    if (wants_all_rows(scheduled)) logits = LogitsFor::kAllTokens;
    builder_.add_sequence(tokens, scheduled.num_computed_tokens, scheduled.block_table, logits);
    const int64_t count = logits == LogitsFor::kAllTokens   ? scheduled.num_scheduled_tokens
                          : logits == LogitsFor::kLastToken ? 1
                                                            : 0;
    first_row_.push_back(logits == LogitsFor::kAllTokens ? rows : -1);
    sample_row_.push_back(scheduled.samples ? rows + count - 1 : -1);
    rows += count;
  }
  // Only prompt logprobs can need more rows than sequences (a rare path).
  if (static_cast<size_t>(rows * vocab_) > logits_.size()) {
    logits_.resize(static_cast<size_t>(rows * vocab_));
  }
  model_.forward(builder_.batch(), kv_, logits_.data());
}

float* ModelRunner::sample_row(size_t index) {
  LM_DCHECK_LT(index, sample_row_.size());
  return sample_row_[index] < 0 ? nullptr : logits_.data() + sample_row_[index] * vocab_;
}

float* ModelRunner::all_rows(size_t index) {
  LM_DCHECK_LT(index, first_row_.size());
  return first_row_[index] < 0 ? nullptr : logits_.data() + first_row_[index] * vocab_;
}

}  // namespace localmoe
