#pragma once
// Shared by the benchmarks: a machine read-bandwidth probe, random weights,
// and medians. Benchmarks print their figure next to the hardware limit.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "localmoe/base/allocator.h"
#include "localmoe/base/thread_pool.h"
#include "localmoe/config/model_config.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/loader/in_memory_source.h"

namespace localmoe::bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// STREAM-style read bandwidth: every thread sums its share of an array far
// larger than the last-level cache. The array is allocated and touched once,
// so a measurement can sit between two decode steps.
class BandwidthProbe {
 public:
  BandwidthProbe(const kernels::Kernels& kernels, ThreadPool& pool, Allocator& allocator,
                 size_t bytes);
  // One pass over the array; bytes/s.
  double measure();

 private:
  const kernels::Kernels& kernels_;
  ThreadPool& pool_;
  AlignedBuffer buffer_;
  int64_t count_;
  std::vector<float> sinks_;  // per-thread sums, so the reads are not optimized away
};

// Peak f32 FLOP/s of the pool: every thread runs register-resident FMA
// chains at once. Returns one figure per run.
std::vector<double> measure_peak_flops(const kernels::Kernels& kernels, ThreadPool& pool, int runs);
// The same in the instruction the variant's BF16 GEMM multiplies with (its
// bf16_gemm_peak_probe; only where has_bf16_gemm_probe()).
std::vector<double> measure_bf16_gemm_peak(const kernels::Kernels& kernels, ThreadPool& pool,
                                           int runs);

// Bytes of this process's anonymous memory backed by transparent huge
// pages (AnonHugePages of /proc/self/smaps_rollup; 0 if unavailable).
double anon_huge_page_bytes();

// Fills a source with the tensors of a Llama-architecture checkpoint, in
// `dtype`, with small deterministic pseudo-random values.
void add_random_llama_weights(const ModelConfig& config, DType dtype, InMemoryTensorSource& source);

// TinyLlama-1.1B's published shape (hidden 2048, 22 layers, 32 heads, 4 KV
// heads, intermediate 5632, vocab 32000).
ModelConfig tinyllama_config();

}  // namespace localmoe::bench
