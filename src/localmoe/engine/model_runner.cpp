#include "localmoe/engine/model_runner.h"

#include "localmoe/base/error.h"

namespace localmoe {

ModelRunner::ModelRunner(Transformer& model, KvStorage& kv, int64_t max_num_seqs)
    : model_(model),
      kv_(kv),
      vocab_(model.config().vocab_size),
      builder_(model.block_size()),
      logits_(static_cast<size_t>(max_num_seqs * model.config().vocab_size)) {
  sample_row_.reserve(static_cast<size_t>(max_num_seqs));
}

void ModelRunner::execute(const SchedulerOutput& output) {
  kv_.copy_blocks(output.copy_blocks);
  kv_.swap_out(output.swap_out);
  kv_.swap_in(output.swap_in);

  builder_.clear();
  sample_row_.clear();
  int64_t rows = 0;
  for (const ScheduledRequest& scheduled : output.requests) {
    const std::span<const int32_t> tokens =
        scheduled.request->token_ids().subspan(static_cast<size_t>(scheduled.num_computed_tokens),
                                               static_cast<size_t>(scheduled.num_scheduled_tokens));
    builder_.add_sequence(tokens, scheduled.num_computed_tokens, scheduled.block_table,
                          scheduled.samples ? LogitsFor::kLastToken : LogitsFor::kNone);
    sample_row_.push_back(scheduled.samples ? rows++ : -1);
  }
  LM_CHECK_LE(static_cast<size_t>(rows * vocab_), logits_.size());
  model_.forward(builder_.batch(), kv_, logits_.data());
}

float* ModelRunner::sample_row(size_t index) {
  LM_DCHECK_LT(index, sample_row_.size());
  return sample_row_[index] < 0 ? nullptr : logits_.data() + sample_row_[index] * vocab_;
}

}  // namespace localmoe
