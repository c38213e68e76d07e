#pragma once
// A decoder-only transformer (Llama, Mistral, Mixtral, GPT-2) on the CPU
// backend. Built once from a ModelConfig and a TensorSource; forward() runs
// one Batch — any mix of sequences, each a decode token, a prompt chunk or a
// whole prompt — through every layer over the paged KV cache and produces the
// logits of the rows the batch asks for. All activation memory is allocated
// here, once, for `max_batch_tokens`.

#include <cstdint>
#include <memory>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/loader/tensor_source.h"
#include "localmoe/model/attention.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/mlp.h"
#include "localmoe/model/moe_block.h"
#include "localmoe/model/norm.h"
#include "localmoe/model/weights.h"

namespace localmoe {

class Transformer {
 public:
  // Binds the weights (throws Error naming the tensor on any mismatch) and
  // allocates workspaces for up to max_batch_tokens tokens per forward over
  // a KV cache of `block_size`-token blocks. `kernels` must outlive it.
  Transformer(ModelConfig config, std::unique_ptr<TensorSource> source, int64_t max_batch_tokens,
              int64_t block_size, const kernels::Kernels& kernels, Allocator& allocator,
              ThreadPool& pool);

  const ModelConfig& config() const { return config_; }
  const kernels::Kernels& kernels() const { return kernels_; }
  int64_t max_batch_tokens() const { return max_batch_tokens_; }
  int64_t block_size() const { return block_size_; }
  // Bytes of weights read per decoded token: every matrix once (the
  // embedding contributes one row); what the decode roofline divides by.
  size_t weight_bytes_per_token() const;
  // Bytes of every tensor of the checkpoint: what the weights take from the
  // memory budget (mapped from the file, so shared with the page cache).
  size_t weight_bytes() const;

  // The KV cache layout this model reads and writes, in `dtype`.
  KvCacheLayout kv_layout(DType dtype) const;

  // Runs `batch` (at most max_batch_tokens() tokens, every slot inside `kv`)
  // and writes logits [batch.logits_rows.size(), vocab] row by row.
  void forward(const Batch& batch, KvStorage& kv, float* logits);

  // Every forward() from now on appends its MoE routing decisions to `trace`
  // (one record per layer); nullptr stops recording. Throws
  // Error(kInvalidArgument) when the model has no MoE layers or the trace's
  // shape does not match them.
  void set_routing_trace(RoutingTrace* trace);

 private:
  void embed(const Batch& batch, float* out) const;
  void check_batch(const Batch& batch, const KvStorage& kv) const;

  ModelConfig config_;
  std::unique_ptr<TensorSource> source_;  // the weights' storage (mmap or memory)
  TransformerWeights weights_;
  int64_t max_batch_tokens_;
  int64_t block_size_;
  const kernels::Kernels& kernels_;
  ThreadPool& pool_;
  Norm norm_;
  Attention attention_;
  Mlp mlp_;
  MoeBlock moe_;
  std::vector<bool> sparse_layer_;  // per layer: MoE feed-forward instead of a dense MLP
  bool has_sparse_layers_;
  RoutingTrace* routing_trace_ = nullptr;

  AlignedBuffer workspace_;
  float* residual_;       // [max_batch_tokens, hidden]
  float* normed_;         // [max_batch_tokens, hidden]
  float* block_out_;      // [max_batch_tokens, hidden]
  float* layer_scratch_;  // attention / MLP scratch
};

}  // namespace localmoe
