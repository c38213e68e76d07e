// Matrix-vector and small-batch products per weight dtype, with weights far
// larger than the caches (decode's situation): 1 token, 4 (the streaming
// product) and 16 (the GEMM). Reports bytes/s of weights streamed, next to
// the read bandwidth of a plain sum over the same bytes. gemm_bench covers
// more shapes and token counts, against oneDNN.
//
//   matmul_bench [--kernels NAME] [--config F[:P]] [--set K=V] [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench_util.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe::bench {
namespace {

constexpr int64_t kRows = 5632, kCols = 2048, kMatrices = 24;  // ~550 MB in BF16

struct Weights {
  Allocator allocator;
  std::vector<AlignedBuffer> buffers;
  std::vector<kernels::Weight> views;

  explicit Weights(DType dtype) {
    for (int64_t m = 0; m < kMatrices; ++m) {
      const size_t bytes = static_cast<size_t>(kRows * kCols) * dtype_size(dtype);
      buffers.push_back(allocator.allocate(bytes, MemoryCategory::kWeights));
      std::memset(buffers.back().data(), 0x11, bytes);
      views.push_back(
          kernels::Weight::dense(TensorView{buffers.back().data(), dtype, Shape{kRows, kCols}}));
    }
  }
};

void bench_matmul(benchmark::State& state, const kernels::Kernels& kernels) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t tokens = state.range(1);
  ThreadPool pool(static_cast<int>(state.range(2)));
  static Weights* weights[3] = {};
  const int slot = dtype == DType::kF32 ? 0 : dtype == DType::kF16 ? 1 : 2;
  if (weights[slot] == nullptr) weights[slot] = new Weights(dtype);
  std::vector<float> x(tokens * kCols, 0.5f), y(tokens * kRows);
  int64_t m = 0;
  for (auto _ : state) {
    kernels.matmul(weights[slot]->views[m], x.data(), tokens, y.data(), kRows, pool);
    m = (m + 1) % kMatrices;
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(kRows * kCols) * dtype_size(dtype);
  state.counters["weight_bytes/s"] =
      benchmark::Counter(bytes * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["flop/s"] = benchmark::Counter(2.0 * kRows * kCols * tokens * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void bench_read_bandwidth(benchmark::State& state, const kernels::Kernels& kernels) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  Allocator allocator;
  BandwidthProbe probe(kernels, pool, allocator, size_t{512} << 20);
  std::vector<double> runs;
  for (auto _ : state) {
    for (int i = 0; i < 5; ++i) runs.push_back(probe.measure());
  }
  state.counters["bytes/s"] = median(runs);
}

void register_benchmarks(const kernels::Kernels& kernels) {
  benchmark::RegisterBenchmark("BM_ReadBandwidth", bench_read_bandwidth, std::cref(kernels))
      ->Arg(1)
      ->Arg(2)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Matmul", bench_matmul, std::cref(kernels))
      ->ArgsProduct({{static_cast<int64_t>(DType::kBF16), static_cast<int64_t>(DType::kF16),
                      static_cast<int64_t>(DType::kF32)},
                     {1, 4, 16},
                     {1, 2}})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(1.0);
}

}  // namespace
}  // namespace localmoe::bench

// Google Benchmark takes its --benchmark_* flags first; what is left is ours:
// the kernel variant (threads are the benchmarks' own argument).
int main(int argc, char** argv) {
  using namespace localmoe;
  benchmark::Initialize(&argc, argv);
  CLI::App app{"Matrix products per weight dtype against the read bandwidth", "matmul_bench"};
  report_parse_errors(app);
  ConfigArgs config;
  const ConfigFlag flags[] = {{"--kernels", "runtime.kernels", "NAME"}};
  add_config_options(app, config, flags);
  try {
    app.parse(argc, argv);
    const kernels::Kernels kernels = kernels::Kernels::select(config.load().config.runtime.kernels);
    bench::register_benchmarks(kernels);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
