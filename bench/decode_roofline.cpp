// Batch-1 decode of a TinyLlama-1.1B-shaped model with random weights,
// against the memory-bandwidth roofline: decode reads every weight once per
// token, so tokens/s can never exceed read bandwidth / bytes per token.
// Prefill of a short prompt is reported against the measured peak FLOP/s.
//
//   decode_roofline [--dtype bf16|f16|f32] [--threads N] [--tokens N] [--runs N]
//                   [--kernels best|AVX3_PREFETCH|AVX3|...]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "localmoe/base/cpu_features.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/transformer.h"

using namespace localmoe;

int main(int argc, char** argv) {
  std::string dtype_arg = "bf16", kernels_arg = "best";
  int threads = 2, decode_tokens = 48, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dtype")
      dtype_arg = argv[i + 1];
    else if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--tokens")
      decode_tokens = std::atoi(argv[i + 1]);
    else if (flag == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (flag == "--kernels")
      kernels_arg = argv[i + 1];
  }
  try {
    kernels::select_variant(kernels_arg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decode_roofline: %s\n", e.what());
    return 2;
  }
  const DType dtype = dtype_arg == "f32"   ? DType::kF32
                      : dtype_arg == "f16" ? DType::kF16
                                           : DType::kBF16;

  Allocator allocator;
  ThreadPool pool(threads);
  std::printf("cpu: %s; kernels: %s; threads: %d\n", cpu_features().describe().c_str(),
              std::string(kernels::current_variant()).c_str(), threads);

  const double peak_flops = bench::median(bench::measure_peak_flops(pool, 5));
  std::printf("peak f32 FMA throughput (%d threads): median %.1f GFLOP/s\n", threads,
              peak_flops / 1e9);

  const ModelConfig config = bench::tinyllama_config();
  auto source = std::make_unique<InMemoryTensorSource>(allocator, "random TinyLlama-1.1B");
  bench::add_random_llama_weights(config, dtype, *source);
  Transformer model(config, std::move(source), 64, allocator, pool);
  const double weight_bytes = static_cast<double>(model.weight_bytes_per_token());
  std::printf("weights backed by transparent huge pages: %.0f%%\n",
              100.0 * bench::anon_huge_page_bytes() / weight_bytes);

  const int prompt_tokens = 16;
  std::vector<int32_t> prompt(prompt_tokens);
  for (int i = 0; i < prompt_tokens; ++i) prompt[i] = 1 + 37 * i;
  std::vector<float> logits(config.vocab_size);
  // Keys and values read per decode step, averaged over the run's positions.
  const double kv_bytes_mean = 2.0 * config.num_layers * config.kv_dim() * sizeof(float) *
                               (prompt_tokens + decode_tokens / 2.0);
  const double bytes_per_token = weight_bytes + kv_bytes_mean;
  // On a shared machine the available bandwidth drifts, so it is measured
  // right before every decode step and the share is taken step by step.
  bench::BandwidthProbe probe(pool, allocator, size_t{512} << 20);
  std::vector<double> decode_rates, prefill_rates, bandwidths, shares;
  for (int run = 0; run < runs; ++run) {
    SequenceKvCache cache(config, prompt_tokens + decode_tokens + 1, allocator);
    auto start = std::chrono::steady_clock::now();
    model.forward(prompt, cache, LogitsFor::kLastToken, logits.data());
    prefill_rates.push_back(prompt_tokens / bench::seconds_since(start));
    double decode_seconds = 0;
    for (int t = 0; t < decode_tokens; ++t) {
      const double bandwidth = probe.measure();
      const int32_t next = static_cast<int32_t>(kernels::argmax(logits.data(), config.vocab_size));
      start = std::chrono::steady_clock::now();
      model.forward({&next, 1}, cache, LogitsFor::kLastToken, logits.data());
      const double seconds = bench::seconds_since(start);
      decode_seconds += seconds;
      bandwidths.push_back(bandwidth);
      shares.push_back(bytes_per_token / seconds / bandwidth);
    }
    decode_rates.push_back(decode_tokens / decode_seconds);
  }
  const double bandwidth = bench::median(bandwidths);
  const double decode = bench::median(decode_rates);
  const double roofline = bandwidth / bytes_per_token;
  std::printf(
      "read bandwidth (512 MiB, STREAM-style sum, %d threads, before each step): "
      "median %.2f GB/s (min %.2f, max %.2f)\n",
      threads, bandwidth / 1e9, *std::min_element(bandwidths.begin(), bandwidths.end()) / 1e9,
      *std::max_element(bandwidths.begin(), bandwidths.end()) / 1e9);
  std::printf("model: TinyLlama-1.1B shape, %s weights, %.3f GB read per token (weights %.3f GB)\n",
              std::string(dtype_name(dtype)).c_str(), bytes_per_token / 1e9, weight_bytes / 1e9);
  // Prefill does two FLOPs per weight per token (attention over 16
  // positions adds well under 1%).
  const double prefill = bench::median(prefill_rates);
  const double prefill_flops = prefill * 2.0 * weight_bytes / dtype_size(dtype);
  std::printf("prefill (%d tokens): median %.1f tokens/s = %.1f GFLOP/s, %.1f%% of peak\n",
              prompt_tokens, prefill, prefill_flops / 1e9, 100.0 * prefill_flops / peak_flops);
  std::printf("decode: median %.2f tokens/s over %d runs of %d tokens (min %.2f, max %.2f)\n",
              decode, runs, decode_tokens,
              *std::min_element(decode_rates.begin(), decode_rates.end()),
              *std::max_element(decode_rates.begin(), decode_rates.end()));
  std::vector<double> sorted = shares;
  std::sort(sorted.begin(), sorted.end());
  std::printf("decode roofline at the median bandwidth: %.2f tokens/s\n", roofline);
  std::printf(
      "share of roofline, step by step: median %.1f%% (quartiles %.1f%% .. %.1f%%, %zu steps)\n",
      100.0 * bench::median(shares), 100.0 * sorted[sorted.size() / 4],
      100.0 * sorted[sorted.size() * 3 / 4], shares.size());
  return 0;
}
