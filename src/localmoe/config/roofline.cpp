#include "localmoe/config/roofline.h"

#include <algorithm>
#include <cmath>

namespace localmoe {

DecodeRoofline decode_roofline(const ModelConfig& model, const WeightLayout& layout, int64_t tp,
                               int64_t kv_bytes_per_token, const HardwareSpec& hw, int64_t batch,
                               int64_t context) {
  DecodeRoofline r;
  r.batch = std::max<int64_t>(1, batch);
  r.context = context;
  const WeightBytes w = weight_bytes(model, layout, tp);
  // Embedding rows are looked up, not streamed: an untied input embedding
  // costs nothing per step (a tied one is read whole as the lm_head).
  double weights = static_cast<double>(w.per_device);
  if (!model.tie_word_embeddings) {
    const int64_t vocab_rows_per_device = (model.vocab_size + tp - 1) / tp;
    weights -= static_cast<double>(vocab_rows_per_device) * model.hidden_size * 2;
  }
  // MoE: a step reads the experts its tokens were routed to. With uniform
  // routing of k of E experts, a batch of B touches 1 - (1 - k/E)^B of them.
  double active_params = static_cast<double>(w.parameters - w.input_embedding_parameters);
  if (model.is_moe()) {
    const double share =
        static_cast<double>(model.num_experts_per_token) / static_cast<double>(model.num_experts);
    const double touched = 1.0 - std::pow(1.0 - share, static_cast<double>(r.batch));
    weights -= static_cast<double>(w.expert_per_device) * (1.0 - touched);
    active_params -= static_cast<double>(w.expert_parameters) * (1.0 - share);
  }
  r.bytes_per_step = weights + static_cast<double>(r.batch) * static_cast<double>(context) *
                                   static_cast<double>(kv_bytes_per_token);
  // 2 FLOPs per multiply-add; attention adds q.k and p.v over the context.
  const double per_token = 2.0 * active_params / static_cast<double>(tp) +
                           4.0 * static_cast<double>(model.num_layers) *
                               static_cast<double>(context) * static_cast<double>(model.q_dim()) /
                               static_cast<double>(tp);
  r.flops_per_step = per_token * static_cast<double>(r.batch);
  r.memory_seconds = r.bytes_per_step / (hw.bandwidth_gb_s * 1e9);
  const bool fp8_cores = layout.format == WeightFormat::kFp8 && hw.native_fp8;
  const double peak_tflops = fp8_cores ? hw.fp8_tflops : hw.fp16_tflops;
  r.compute_seconds = peak_tflops > 0 ? r.flops_per_step / (peak_tflops * 1e12) : 0.0;
  r.compute_bound = r.compute_seconds > r.memory_seconds;
  const double seconds = std::max(r.memory_seconds, r.compute_seconds);
  r.tokens_per_second = seconds > 0 ? static_cast<double>(r.batch) / seconds : 0.0;
  return r;
}

}  // namespace localmoe
