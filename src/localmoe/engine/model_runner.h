#pragma once
// Runs one scheduler step on the model: the step's block copies on the KV
// storage, then one Batch made of every scheduled request's tokens, whose
// logits are those of the last token of each request that samples.

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

  int64_t vocab_size() const { return vocab_; }

 private:
  Transformer& model_;
  KvStorage& kv_;
  int64_t vocab_;
  BatchBuilder builder_;
  std::vector<float> logits_;        // [max_num_seqs, vocab]
  std::vector<int64_t> sample_row_;  // per scheduled request: its logits row, or -1
};

}  // namespace localmoe
