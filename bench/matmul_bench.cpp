// Matrix-vector and small-batch products per weight dtype, with weights far
// larger than the caches (decode's situation): 1 token, 4 (the streaming
// product) and 16 (the GEMM). Reports bytes/s of weights streamed, next to
// the read bandwidth of a plain sum over the same bytes. gemm_bench covers
// more shapes and token counts, against oneDNN.

#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "bench_util.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe::bench {
namespace {

constexpr int64_t kRows = 5632, kCols = 2048, kMatrices = 24;  // ~550 MB in BF16

struct Weights {
  Allocator allocator;
  std::vector<AlignedBuffer> buffers;
  std::vector<TensorView> views;

  explicit Weights(DType dtype) {
    for (int64_t m = 0; m < kMatrices; ++m) {
      const size_t bytes = static_cast<size_t>(kRows * kCols) * dtype_size(dtype);
      buffers.push_back(allocator.allocate(bytes, MemoryCategory::kWeights));
      std::memset(buffers.back().data(), 0x11, bytes);
      views.push_back(TensorView{buffers.back().data(), dtype, Shape{kRows, kCols}});
    }
  }
};

void BM_Matmul(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t tokens = state.range(1);
  ThreadPool pool(static_cast<int>(state.range(2)));
  static Weights* weights[3] = {};
  const int slot = dtype == DType::kF32 ? 0 : dtype == DType::kF16 ? 1 : 2;
  if (weights[slot] == nullptr) weights[slot] = new Weights(dtype);
  std::vector<float> x(tokens * kCols, 0.5f), y(tokens * kRows);
  int64_t m = 0;
  for (auto _ : state) {
    kernels::matmul(weights[slot]->views[m], x.data(), tokens, y.data(), kRows, pool);
    m = (m + 1) % kMatrices;
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(kRows * kCols) * dtype_size(dtype);
  state.counters["weight_bytes/s"] =
      benchmark::Counter(bytes * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["flop/s"] = benchmark::Counter(2.0 * kRows * kCols * tokens * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  Allocator allocator;
  BandwidthProbe probe(pool, allocator, size_t{512} << 20);
  std::vector<double> runs;
  for (auto _ : state) {
    for (int i = 0; i < 5; ++i) runs.push_back(probe.measure());
  }
  state.counters["bytes/s"] = median(runs);
}

BENCHMARK(BM_ReadBandwidth)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul)
    ->ArgsProduct({{static_cast<int64_t>(DType::kBF16), static_cast<int64_t>(DType::kF16),
                    static_cast<int64_t>(DType::kF32)},
                   {1, 4, 16},
                   {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
}  // namespace localmoe::bench

BENCHMARK_MAIN();
