#pragma once
// Runs one scheduler step on the model: the step's block copies on the KV
// storage, then one Batch made of every scheduled request's tokens, whose
// logits are those of the last token of each request that samples, and of
// every prompt token of a request that returns prompt logprobs.

#include <cstdint>
#include <span>
#include <vector>

#include "localmoe/engine/scheduler_output.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

class ModelRunner {
 public:
  // Buffers are sized for `max_num_seqs` sampling rows up front, so a
  // steady decode step allocates nothing; a step with prompt logprobs grows
  // them to its rows once (at most kMaxPromptLogprobsChunk per request).
  ModelRunner(Transformer& model, KvStorage& kv, int64_t max_num_seqs, int64_t max_model_len);

  void execute(const SchedulerOutput& output);

  // The logits of the scheduled request at `index` of the last execute():
  // [vocab] of its last token, or nullptr when it did not sample.
  float* sample_row(size_t index);
  // The logits of the scheduled request's prompt tokens of the last
  // execute(), one row per position from its num_computed_tokens on (row i
  // predicts token num_computed_tokens + i + 1), excluding the sampling row;
  // empty unless it asked for prompt logprobs. Rows are [vocab] each,
  // contiguous.
  std::span<float> prompt_rows(size_t index);

  int64_t vocab_size() const { return vocab_; }

 private:
  Transformer& model_;
  KvStorage& kv_;
  int64_t vocab_;
  BatchBuilder builder_;
  std::vector<float> logits_;  // [rows of the step, vocab]
  struct Rows {
    int64_t sample = -1;  // its sampling row, or -1
    int64_t prompt_first = 0;
    int64_t prompt_count = 0;
  };
  std::vector<Rows> rows_;  // per scheduled request
};

}  // namespace localmoe
