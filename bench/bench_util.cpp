#include "bench_util.h"

#include <cstring>
#include <fstream>
#include <string>

#include "localmoe/kernels/kernels.h"

namespace localmoe::bench {

BandwidthProbe::BandwidthProbe(const kernels::Kernels& kernels, ThreadPool& pool,
                               Allocator& allocator, size_t bytes)
    : kernels_(kernels),
      pool_(pool),
      buffer_(allocator.allocate(bytes, MemoryCategory::kOther)),
      count_(static_cast<int64_t>(bytes / sizeof(float))),
      sinks_(pool.num_threads()) {
  float* data = buffer_.as<float>();
  // Touch every page with the thread that will read it later.
  pool_.parallel_for(count_, 1024, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) data[i] = 1.0f;
  });
}

double BandwidthProbe::measure() {
  const float* data = buffer_.as<float>();
  const auto start = std::chrono::steady_clock::now();
  pool_.parallel_for(count_, 1024, [&](int64_t begin, int64_t end, int thread) {
    sinks_[thread] += kernels_.sum(data + begin, end - begin);
  });
  return static_cast<double>(count_) * sizeof(float) / seconds_since(start);
}

namespace {

// Every thread of the pool runs `probe(iterations)` (which returns the
// FLOPs it did) at once; one FLOP/s figure per run.
template <typename Probe>
std::vector<double> measure_pool_rate(ThreadPool& pool, int runs, int64_t iterations,
                                      Probe&& probe) {
  std::vector<double> flops_per_thread(pool.num_threads());
  std::vector<double> rates;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    auto job = [&](int thread) { flops_per_thread[thread] = probe(iterations); };
    pool.run_on_all(job);
    const double seconds = seconds_since(start);
    double flops = 0;
    for (double f : flops_per_thread) flops += f;
    rates.push_back(flops / seconds);
  }
  return rates;
}

}  // namespace

std::vector<double> measure_peak_flops(const kernels::Kernels& kernels, ThreadPool& pool,
                                       int runs) {
  return measure_pool_rate(pool, runs, 20'000'000,
                           [&](int64_t n) { return kernels.fma_peak_probe(n); });
}

std::vector<double> measure_bf16_gemm_peak(const kernels::Kernels& kernels, ThreadPool& pool,
                                           int runs) {
  return measure_pool_rate(pool, runs, 4'000'000,
                           [&](int64_t n) { return kernels.bf16_gemm_peak_probe(n); });
}

double anon_huge_page_bytes() {
  std::ifstream smaps("/proc/self/smaps_rollup");
  std::string key;
  double kib = 0;
  while (smaps >> key) {
    if (key == "AnonHugePages:") {
      smaps >> kib;
      return kib * 1024.0;
    }
  }
  return 0.0;
}

namespace {
// xorshift: fast and deterministic; weight statistics do not matter for speed.
struct Rng {
  uint64_t state;
  float next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (static_cast<float>(state >> 40) / static_cast<float>(1 << 24) - 0.5f) * 0.04f;
  }
};

void fill(void* data, DType dtype, int64_t n, Rng& rng) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = rng.next();
    switch (dtype) {
      case DType::kF32: static_cast<float*>(data)[i] = v; break;
      case DType::kBF16: static_cast<uint16_t*>(data)[i] = f32_to_bf16(v); break;
      case DType::kF16: static_cast<uint16_t*>(data)[i] = f32_to_f16(v); break;
      default: LM_CHECK(false && "random weights: unsupported dtype");
    }
  }
}
}  // namespace

void add_random_llama_weights(const ModelConfig& c, DType dtype, InMemoryTensorSource& source) {
  Rng rng{0x9E3779B97F4A7C15ull};
  auto add = [&](const std::string& name, Shape shape, DType type) {
    fill(source.add(name, type, shape), type, shape.num_elements(), rng);
  };
  auto add_norm = [&](const std::string& name) {
    auto* w = static_cast<float*>(source.add(name, DType::kF32, Shape{c.hidden_size}));
    for (int64_t i = 0; i < c.hidden_size; ++i) w[i] = 1.0f;
  };
  add("model.embed_tokens.weight", Shape{c.vocab_size, c.hidden_size}, dtype);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add_norm(p + "input_layernorm.weight");
    add(p + "self_attn.q_proj.weight", Shape{c.q_dim(), c.hidden_size}, dtype);
    add(p + "self_attn.k_proj.weight", Shape{c.kv_dim(), c.hidden_size}, dtype);
    add(p + "self_attn.v_proj.weight", Shape{c.kv_dim(), c.hidden_size}, dtype);
    add(p + "self_attn.o_proj.weight", Shape{c.hidden_size, c.q_dim()}, dtype);
    add_norm(p + "post_attention_layernorm.weight");
    add(p + "mlp.gate_proj.weight", Shape{c.intermediate_size, c.hidden_size}, dtype);
    add(p + "mlp.up_proj.weight", Shape{c.intermediate_size, c.hidden_size}, dtype);
    add(p + "mlp.down_proj.weight", Shape{c.hidden_size, c.intermediate_size}, dtype);
  }
  add_norm("model.norm.weight");
  if (!c.tie_word_embeddings) add("lm_head.weight", Shape{c.vocab_size, c.hidden_size}, dtype);
}

ModelConfig tinyllama_config() {
  ModelConfig c;
  c.arch = ModelArch::kLlama;
  c.arch_name = "LlamaForCausalLM";
  c.vocab_size = 32000;
  c.hidden_size = 2048;
  c.intermediate_size = 5632;
  c.num_layers = 22;
  c.num_heads = 32;
  c.num_kv_heads = 4;
  c.head_dim = 64;
  c.max_position_embeddings = 2048;
  c.norm_eps = 1e-5f;
  return c;
}

}  // namespace localmoe::bench
