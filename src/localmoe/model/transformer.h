#pragma once
// A decoder-only transformer (Llama, Mistral, Mixtral, GPT-2) on the CPU backend.
// Built once from a ModelConfig and a TensorSource; forward() runs a chunk of
// one sequence's tokens through every layer and produces logits. All
// activation memory is allocated here, once, for `max_batch_tokens`.

#include <cstdint>
#include <memory>
#include <span>

#include "localmoe/base/allocator.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/loader/tensor_source.h"
#include "localmoe/model/attention.h"
#include "localmoe/model/mlp.h"
#include "localmoe/model/moe_block.h"
#include "localmoe/model/norm.h"
#include "localmoe/model/sequence_kv_cache.h"
#include "localmoe/model/weights.h"

namespace localmoe {

enum class LogitsFor {
  kLastToken,  // [1, vocab]: generation
  kAllTokens,  // [n, vocab]: scoring, perplexity, tests
};

class Transformer {
 public:
  // Binds the weights (throws Error naming the tensor on any mismatch) and
  // allocates workspaces for up to max_batch_tokens tokens per forward.
  Transformer(ModelConfig config, std::unique_ptr<TensorSource> source, int64_t max_batch_tokens,
              Allocator& allocator, ThreadPool& pool);

  const ModelConfig& config() const { return config_; }
  const TensorSource& source() const { return *source_; }
  int64_t max_batch_tokens() const { return max_batch_tokens_; }
  // Bytes of weights read per decoded token: every matrix once (the
  // embedding contributes one row); what the decode roofline divides by.
  size_t weight_bytes_per_token() const;

  // Appends `tokens` (at most max_batch_tokens()) to the sequence held in
  // `cache` and writes logits as selected. The cache must have room.
  void forward(std::span<const int32_t> tokens, SequenceKvCache& cache, LogitsFor which,
               float* logits);

  // Every forward() from now on appends its MoE routing decisions to `trace`
  // (one record per layer); nullptr stops recording. Throws
  // Error(kInvalidArgument) when the model has no MoE layers or the trace's
  // shape does not match them.
  void set_routing_trace(RoutingTrace* trace);

 private:
  void embed(std::span<const int32_t> tokens, std::span<const int32_t> positions, float* out) const;

  ModelConfig config_;
  std::unique_ptr<TensorSource> source_;  // the weights' storage (mmap or memory)
  TransformerWeights weights_;
  int64_t max_batch_tokens_;
  ThreadPool& pool_;
  Norm norm_;
  Attention attention_;
  Mlp mlp_;
  MoeBlock moe_;
  bool sparse_ffn_;  // MoE feed-forward blocks instead of dense MLPs
  RoutingTrace* routing_trace_ = nullptr;

  AlignedBuffer workspace_;
  float* residual_;       // [max_batch_tokens, hidden]
  float* normed_;         // [max_batch_tokens, hidden]
  float* block_out_;      // [max_batch_tokens, hidden]
  float* layer_scratch_;  // attention / MLP scratch
  int32_t* positions_;    // [max_batch_tokens]
};

}  // namespace localmoe
