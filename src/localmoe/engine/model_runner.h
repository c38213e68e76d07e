#pragma once
// Runs one scheduler step on the model: the step's block copies on the KV
// storage, then one Batch made of every scheduled request's tokens, then the
// logits rows the step needs — the last row of each request that samples,
// and every prompt row of a request that asked for prompt logprobs.

#include <cstdint>
#include <vector>

#include "localmoe/engine/scheduler_output.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/transformer.h"

namespace localmoe {

class ModelRunner {
 public:
  // Buffers are sized for `max_num_seqs` sampling rows up front, so a
  // steady decode step allocates nothing.
  ModelRunner(Transformer& model, KvStorage& kv, int64_t max_num_seqs);

  void execute(const SchedulerOutput& output);

  // The logits of the scheduled request at `index` of the last execute():
  // [vocab] of its last token, or nullptr when it did not sample.
  float* sample_row(size_t index);
  // Its rows for every scheduled token, [num_scheduled_tokens, vocab], when
  // prompt logprobs were asked for; else nullptr.
  float* all_rows(size_t index);

  int64_t vocab_size() const { return vocab_; }

 private:
  // A request wants every row of this step: prompt tokens with prompt_logprobs.
  static bool wants_all_rows(const ScheduledRequest& scheduled);

  Transformer& model_;
  KvStorage& kv_;
  int64_t vocab_;
  BatchBuilder builder_;
  std::vector<float> logits_;        // [rows, vocab]
  std::vector<int64_t> first_row_;   // per scheduled request: first of all its rows, or -1
  std::vector<int64_t> sample_row_;  // per scheduled request: its sampling row, or -1
};

}  // namespace localmoe
