// Batch-1 decode of a TinyLlama-1.1B-shaped model with random weights,
// against the memory-bandwidth roofline: decode reads every weight once per
// token, so tokens/s can never exceed read bandwidth / bytes per token.
// Prefill of a short prompt is reported against the measured peak FLOP/s.
//
//   decode_roofline [--dtype bf16|f16|f32] [--threads N] [--tokens N] [--runs N]
//                   [--kernels best|AVX3_PREFETCH|AVX3|...] [--config F[:P]] [--set K=V]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench_util.h"
#include "localmoe/base/cpu_features.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/model/transformer.h"

using namespace localmoe;

namespace {

// Threads and kernels come from the configuration (--threads, --kernels,
// --config, --set); the rest is this benchmark's own.
struct Options {
  ConfigArgs config;
  DType dtype = DType::kBF16;
  int decode_tokens = 48;
  int runs = 5;
};

void measure(const Options& o) {
  const Config run_config = o.config.load().config;
  const kernels::Kernels kernels = kernels::Kernels::select(run_config.runtime.kernels);
  const DType dtype = o.dtype;
  const int decode_tokens = o.decode_tokens;
  const int runs = o.runs;

  Allocator allocator;
  ThreadPool pool(static_cast<int>(run_config.runtime.num_threads));
  const int threads = pool.num_threads();
  std::printf("cpu: %s; kernels: %s; threads: %d\n", cpu_features().describe().c_str(),
              kernels.name().c_str(), threads);

  const double peak_flops = bench::median(bench::measure_peak_flops(kernels, pool, 5));
  std::printf("peak f32 FMA throughput (%d threads): median %.1f GFLOP/s\n", threads,
              peak_flops / 1e9);

  const ModelConfig config = bench::tinyllama_config();
  auto source = std::make_unique<InMemoryTensorSource>(allocator, "random TinyLlama-1.1B");
  bench::add_random_llama_weights(config, dtype, *source);
  Transformer model(config, std::move(source), 64, run_config.engine.block_size, kernels, allocator,
                    pool);
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
  bench::BandwidthProbe probe(kernels, pool, allocator, size_t{512} << 20);
  std::vector<double> decode_rates, prefill_rates, bandwidths, shares;
  for (int run = 0; run < runs; ++run) {
    SequenceRunner sequence(model, prompt_tokens + decode_tokens + 1, DType::kF32, allocator);
    auto start = std::chrono::steady_clock::now();
    sequence.append(prompt, LogitsFor::kLastToken, logits.data());
    prefill_rates.push_back(prompt_tokens / bench::seconds_since(start));
    double decode_seconds = 0;
    for (int t = 0; t < decode_tokens; ++t) {
      const double bandwidth = probe.measure();
      const int32_t next = static_cast<int32_t>(kernels.argmax(logits.data(), config.vocab_size));
      start = std::chrono::steady_clock::now();
      sequence.append({&next, 1}, LogitsFor::kLastToken, logits.data());
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
  // A variant whose BF16 GEMM rounds x multiplies with another instruction
  // (vdpbf16ps, tdpbf16ps): its peak is the limit.
  const bool rounds = dtype == DType::kBF16 &&
                      kernels.matmul_rounds_x_to_bf16(kernels::WeightFormat::kBF16, prompt_tokens);
  const double prefill_peak =
      rounds ? bench::median(bench::measure_bf16_gemm_peak(kernels, pool, 5)) : peak_flops;
  std::printf("prefill (%d tokens): median %.1f tokens/s = %.1f GFLOP/s, %.1f%% of the %s peak\n",
              prompt_tokens, prefill, prefill_flops / 1e9, 100.0 * prefill_flops / prefill_peak,
              rounds ? "BF16 GEMM instruction's" : "f32 FMA");
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
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Batch-1 decode and short prefill of a TinyLlama-1.1B-shaped model against the "
      "machine's measured read bandwidth and peak FLOP/s",
      "decode_roofline"};
  report_parse_errors(app);
  add_config_options(app, options.config, backend_flags());
  std::string dtype = "bf16";
  app.add_option("--dtype", dtype, "weight dtype")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}))
      ->capture_default_str();
  app.add_option("--tokens", options.decode_tokens, "decode steps per run")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--runs", options.runs, "runs, each from an empty KV cache")
      ->check(at_least(1))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
    options.dtype = dtype == "f32" ? DType::kF32 : dtype == "f16" ? DType::kF16 : DType::kBF16;
    measure(options);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
