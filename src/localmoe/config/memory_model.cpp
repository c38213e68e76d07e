#include "localmoe/config/memory_model.h"

#include <sstream>

#include <algorithm>

#include "localmoe/base/error.h"

namespace localmoe {

std::string format_gib(double bytes) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << bytes / kBytesPerGiB << " GiB";
  return out.str();
}
namespace {

constexpr int64_t k16Bit = 2;

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// How a tensor is split under tensor parallelism (Megatron-style, as vLLM does).
enum class Shard {
  kColumn,      // output features split (q/k/v, gate/up)
  kRow,         // input features split (o, down)
  kReplicated,  // every device holds it whole (norms, routers, GPT-2 positions)
};

// One weight matrix [out, in] and how many identical copies the model has.
struct Matrix {
  int64_t in = 0;
  int64_t out = 0;
  Shard shard = Shard::kReplicated;
  int64_t copies = 1;
  bool expert = false;
};

// Bytes of one [out, in] matrix in `layout`.
int64_t matrix_bytes(int64_t in, int64_t out, const WeightLayout& layout) {
  switch (layout.format) {
    case WeightFormat::kNone:
    case WeightFormat::kFp16:
    case WeightFormat::kBf16: return in * out * k16Bit;
    case WeightFormat::kFp8: return in * out + 4;  // one float32 scale per tensor
    case WeightFormat::kInt8:
      return in * out + out * k16Bit;  // symmetric, one 16-bit scale per output channel
    case WeightFormat::kAwq:
    case WeightFormat::kGptq: {
      const int64_t groups = layout.group_size > 0 ? ceil_div(in, layout.group_size) : 1;
      const int64_t packed = in * out * layout.bits / 8;              // qweight
      const int64_t scales = groups * out * k16Bit;                   // 16-bit scales
      const int64_t zeros = ceil_div(groups * out * layout.bits, 8);  // packed zero points
      const int64_t g_idx = layout.format == WeightFormat::kGptq ? in * 4 : 0;  // int32 group index
      return packed + scales + zeros + g_idx;
    }
  }
  return in * out * k16Bit;
}

struct ShardedDims {
  int64_t in = 0;
  int64_t out = 0;
};

ShardedDims per_device(const Matrix& m, int64_t tp) {
  switch (m.shard) {
    case Shard::kColumn: return {m.in, ceil_div(m.out, tp)};
    case Shard::kRow: return {ceil_div(m.in, tp), m.out};
    case Shard::kReplicated: return {m.in, m.out};
  }
  return {m.in, m.out};
}

// The quantizable linear layers of one model, plus the 16-bit vectors (norms,
// biases) as 1-row matrices that every layout keeps at 16 bits.
struct Tensors {
  std::vector<Matrix> linear;   // stored in the serving layout
  std::vector<Matrix> sixteen;  // always 16-bit (norms, biases, routers, GPT-2 positions)
  int64_t vocab_rows = 0;       // embedding rows (and lm_head rows when untied)
  int64_t vocab_matrices = 1;   // 1 when tied, else 2
};

Tensors model_tensors(const ModelConfig& m, int64_t tp) {
  Tensors t;
  const int64_t h = m.hidden_size;
  const int64_t layers = m.num_layers;
  const int64_t kv_dev = kv_heads_per_device(m, tp) * m.head_dim;
  t.vocab_rows = m.vocab_size;
  t.vocab_matrices = m.tie_word_embeddings ? 1 : 2;

  // K and V projections: column-parallel, but a device always keeps at least
  // one whole KV head; express that as the per-device width times tp.
  const int64_t kv_out = kv_dev * tp;
  if (m.arch == ModelArch::kGpt2) {
    t.linear.push_back({h, m.q_dim() + 2 * m.kv_dim(), Shard::kColumn, layers});   // c_attn
    t.linear.push_back({m.q_dim(), h, Shard::kRow, layers});                       // attn.c_proj
    t.linear.push_back({h, m.intermediate_size, Shard::kColumn, layers});          // c_fc
    t.linear.push_back({m.intermediate_size, h, Shard::kRow, layers});             // mlp.c_proj
    t.sixteen.push_back({m.max_position_embeddings, h, Shard::kReplicated, 1});    // wpe
    t.sixteen.push_back({1, m.q_dim() + 2 * m.kv_dim(), Shard::kColumn, layers});  // c_attn bias
    t.sixteen.push_back({1, h, Shard::kReplicated, 2 * layers});                   // c_proj biases
    t.sixteen.push_back({1, m.intermediate_size, Shard::kColumn, layers});         // c_fc bias
    t.sixteen.push_back({1, h, Shard::kReplicated, 4 * layers + 2});  // ln_1, ln_2, ln_f (w, b)
    return t;
  }
  t.linear.push_back({h, m.q_dim(), Shard::kColumn, layers});   // q_proj
  t.linear.push_back({h, kv_out, Shard::kColumn, 2 * layers});  // k_proj, v_proj
  t.linear.push_back({m.q_dim(), h, Shard::kRow, layers});      // o_proj
  if (m.attention_bias) {
    t.sixteen.push_back({1, m.q_dim() + 2 * kv_out, Shard::kColumn, layers});
    t.sixteen.push_back({1, h, Shard::kReplicated, layers});
  }
  const int64_t i = m.intermediate_size;
  if (m.is_moe()) {
    const int64_t experts = layers * m.num_experts;
    t.linear.push_back({h, i, Shard::kColumn, 2 * experts, /*expert=*/true});  // w1, w3
    t.linear.push_back({i, h, Shard::kRow, experts, /*expert=*/true});         // w2
    t.sixteen.push_back({h, m.num_experts, Shard::kReplicated, layers});       // router
  } else {
    t.linear.push_back({h, i, Shard::kColumn, 2 * layers});  // gate_proj, up_proj
    t.linear.push_back({i, h, Shard::kRow, layers});         // down_proj
    if (m.mlp_bias) {
      t.sixteen.push_back({1, i, Shard::kColumn, 2 * layers});
      t.sixteen.push_back({1, h, Shard::kReplicated, layers});
    }
  }
  t.sixteen.push_back(
      {1, h, Shard::kReplicated, 2 * layers + 1});  // input / post-attention / final norms
  return t;
}

}  // namespace

WeightLayout serving_layout(const CheckpointQuantization& checkpoint,
                            const std::optional<Quantization>& quantization) {
  if (checkpoint.format != WeightFormat::kNone) {
    return WeightLayout{checkpoint.format, checkpoint.bits, checkpoint.group_size};
  }
  if (!quantization) return WeightLayout{};
  switch (*quantization) {
    case Quantization::kFp8: return WeightLayout{WeightFormat::kFp8, 8, -1};
    case Quantization::kInt8: return WeightLayout{WeightFormat::kInt8, 8, -1};
    // AWQ / GPTQ need a pre-quantized checkpoint; the validator reports a
    // request on a 16-bit one, so the estimate assumes the published layout.
    case Quantization::kAwq: return WeightLayout{WeightFormat::kAwq, 4, 128};
    case Quantization::kGptq: return WeightLayout{WeightFormat::kGptq, 4, 128};
  }
  return WeightLayout{};
}

std::string weight_layout_name(const WeightLayout& layout) {
  switch (layout.format) {
    case WeightFormat::kNone:
    case WeightFormat::kFp16:
    case WeightFormat::kBf16: return "16-bit";
    case WeightFormat::kFp8:
    case WeightFormat::kInt8: return std::string(enum_name(layout.format));
    case WeightFormat::kAwq:
    case WeightFormat::kGptq:
      return std::string(enum_name(layout.format)) + " " + std::to_string(layout.bits) + "-bit " +
             (layout.group_size > 0 ? "g" + std::to_string(layout.group_size)
                                    : std::string("per-channel"));
  }
  return "?";
}

int64_t kv_heads_per_device(const ModelConfig& model, int64_t tensor_parallel_size) {
  return std::max<int64_t>(1, model.num_kv_heads / std::max<int64_t>(1, tensor_parallel_size));
}

int64_t kv_bytes_per_token(const ModelConfig& model, KvCacheDtype dtype,
                           int64_t tensor_parallel_size) {
  return 2 * model.num_layers * kv_heads_per_device(model, tensor_parallel_size) * model.head_dim *
         kv_cache_dtype_size(dtype);
}

WeightBytes weight_bytes(const ModelConfig& model, const WeightLayout& layout, int64_t tp) {
  LM_CHECK_GE(tp, 1);
  WeightBytes w;
  const Tensors t = model_tensors(model, tp);
  const WeightLayout sixteen{};
  auto add = [&](const Matrix& m, const WeightLayout& l) {
    const ShardedDims d = per_device(m, tp);
    const int64_t total = matrix_bytes(m.in, m.out, l) * m.copies;
    const int64_t device = matrix_bytes(d.in, d.out, l) * m.copies;
    w.total += total;
    w.per_device += device;
    w.parameters += m.in * m.out * m.copies;
    if (m.expert) {
      w.expert_total += total;
      w.expert_per_device += device;
      w.expert_parameters += m.in * m.out * m.copies;
    }
  };
  for (const Matrix& m : t.linear) add(m, layout);
  for (const Matrix& m : t.sixteen) add(m, sixteen);
  // Embedding and lm_head are vocab-parallel: each device holds vocab / tp rows.
  const int64_t vocab_total = t.vocab_rows * model.hidden_size * k16Bit * t.vocab_matrices;
  w.embedding_total = vocab_total;
  w.total += vocab_total;
  w.per_device += ceil_div(t.vocab_rows, tp) * model.hidden_size * k16Bit * t.vocab_matrices;
  w.parameters += t.vocab_rows * model.hidden_size * t.vocab_matrices;
  w.input_embedding_parameters = t.vocab_rows * model.hidden_size;
  if (model.arch == ModelArch::kGpt2) {
    w.embedding_total += model.max_position_embeddings * model.hidden_size * k16Bit;
    w.input_embedding_parameters += model.max_position_embeddings * model.hidden_size;
  }
  return w;
}

int64_t activation_bytes(const ModelConfig& m, int64_t tp, int64_t num_batched_tokens,
                         int64_t num_seqs) {
  const int64_t tokens = num_batched_tokens;
  const int64_t kv_dev = kv_heads_per_device(m, tp) * m.head_dim;
  const int64_t experts_per_token = m.is_moe() ? m.num_experts_per_token : 1;
  const int64_t ffn_width =
      m.arch == ModelArch::kGpt2 ? m.intermediate_size : 2 * m.intermediate_size;
  // Live 16-bit values per token at the widest point of a layer: the residual
  // stream and its normed copy, q/k/v, the attention output, and the FFN's
  // gate and up projections (for each of the token's experts).
  const int64_t per_token = 2 * m.hidden_size + ceil_div(m.q_dim(), tp) + 2 * kv_dev +
                            ceil_div(m.q_dim(), tp) + experts_per_token * ceil_div(ffn_width, tp);
  int64_t bytes = tokens * per_token * k16Bit;
  if (m.is_moe()) bytes += tokens * m.num_experts * 4;  // float32 router logits
  // Logits are computed for the last position of each sequence only, in float32.
  bytes += std::min(num_seqs, tokens) * m.vocab_size * 4;
  return bytes;
}

MemoryEstimate estimate_memory(const MemoryRequest& r) {
  MemoryEstimate e;
  const int64_t tp = std::max<int64_t>(1, r.tensor_parallel_size);
  e.weights = weight_bytes(r.model, r.layout, tp);
  e.resident_weight_bytes = e.weights.per_device;
  if (r.expert_cache_bytes > 0 && r.expert_cache_bytes < e.weights.expert_per_device) {
    e.resident_weight_bytes =
        e.weights.per_device - e.weights.expert_per_device + r.expert_cache_bytes;
  }
  e.activation_bytes = activation_bytes(r.model, tp, r.max_num_batched_tokens, r.max_num_seqs);
  e.overhead_bytes = r.runtime_overhead_bytes;
  e.budget_bytes =
      static_cast<int64_t>(static_cast<double>(r.device_memory_bytes) * r.memory_utilization);
  e.kv_bytes = e.budget_bytes - e.resident_weight_bytes - e.activation_bytes - e.overhead_bytes;
  e.kv_bytes_per_token = kv_bytes_per_token(r.model, r.kv_cache_dtype, tp);
  e.weights_fit = e.kv_bytes >= 0;
  const int64_t block_bytes = e.kv_bytes_per_token * std::max<int64_t>(1, r.block_size);
  e.kv_blocks = e.kv_bytes > 0 && block_bytes > 0 ? e.kv_bytes / block_bytes : 0;
  e.kv_capacity_tokens = e.kv_blocks * r.block_size;
  e.tokens_per_sequence = r.max_model_len;
  if (r.model.sliding_window)
    e.tokens_per_sequence = std::min(r.max_model_len, *r.model.sliding_window);
  const int64_t blocks_per_sequence =
      ceil_div(std::max<int64_t>(1, e.tokens_per_sequence), r.block_size);
  e.kv_capacity_sequences = e.kv_blocks / blocks_per_sequence;
  e.fits = e.weights_fit && e.kv_capacity_sequences >= 1;
  return e;
}

}  // namespace localmoe
