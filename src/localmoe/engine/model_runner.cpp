#include "localmoe/engine/model_runner.h"

#include <algorithm>

#include "localmoe/base/error.h"

namespace localmoe {

ModelRunner::ModelRunner(Transformer& model, KvStorage& kv, int64_t max_num_seqs,
                         int64_t max_model_len)
    : model_(model),
      kv_(kv),
      vocab_(model.config().vocab_size),
      builder_(model.block_size()),
      logits_(static_cast<size_t>(max_num_seqs * model.config().vocab_size)) {
  rows_.reserve(static_cast<size_t>(max_num_seqs));
  builder_.reserve(model.max_batch_tokens(), max_num_seqs,
                   blocks_for_tokens(max_model_len, model.block_size()));
}

void ModelRunner::execute(const SchedulerOutput& output) {
  kv_.copy_blocks(output.copy_blocks);
  kv_.swap_out(output.swap_out);
  kv_.swap_in(output.swap_in);

  builder_.clear();
  rows_.clear();
  int64_t rows = 0;
  for (const ScheduledRequest& scheduled : output.requests) {
    const Request& request = *scheduled.request;
    const std::span<const int32_t> tokens =
        request.token_ids().subspan(static_cast<size_t>(scheduled.num_computed_tokens),
                                    static_cast<size_t>(scheduled.num_scheduled_tokens));
    // Rows for the prompt positions that predict a prompt token: those
    // before the last prompt token, whose row is the sampling one.
    const int64_t prompt_count =
        request.sampling_params().prompt_logprobs && request.num_output_tokens() == 0
            ? std::clamp<int64_t>(request.num_prompt_tokens() - 1 - scheduled.num_computed_tokens,
                                  0, scheduled.num_scheduled_tokens)
            : 0;
    LogitsFor logits = scheduled.samples ? LogitsFor::kLastToken : LogitsFor::kNone;
    if (prompt_count > 0) logits = LogitsFor::kAllTokens;
    builder_.add_sequence(tokens, scheduled.num_computed_tokens, scheduled.block_table, logits);
    Rows r;
    r.prompt_first = rows;
    r.prompt_count = prompt_count;
    if (logits == LogitsFor::kAllTokens) {
      rows += scheduled.num_scheduled_tokens;
      if (scheduled.samples) r.sample = rows - 1;
    } else if (scheduled.samples) {
      r.sample = rows++;
    }
    rows_.push_back(r);
  }
  if (static_cast<size_t>(rows * vocab_) > logits_.size()) {
    logits_.resize(static_cast<size_t>(rows * vocab_));
  }
  model_.forward(builder_.batch(), kv_, logits_.data());
}

float* ModelRunner::sample_row(size_t index) {
  LM_DCHECK_LT(index, rows_.size());
  return rows_[index].sample < 0 ? nullptr : logits_.data() + rows_[index].sample * vocab_;
}

std::span<float> ModelRunner::prompt_rows(size_t index) {
  LM_DCHECK_LT(index, rows_.size());
  const Rows& r = rows_[index];
  return {logits_.data() + r.prompt_first * vocab_, static_cast<size_t>(r.prompt_count * vocab_)};
}

}  // namespace localmoe
