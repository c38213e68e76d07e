// Our multi-token matrix products against oneDNN's matmul on the same
// shapes: the projections of a TinyLlama-1.1B and a Mixtral-8x7B layer at
// 1 to 512 tokens. Prints GFLOP/s and the share of the pool's measured FMA
// peak for both; for up to 16 tokens also the weights' streaming rate
// against the measured read bandwidth (weights rotate over copies larger
// than the last-level cache, as in decode).
//
//   gemm_bench [--dtype bf16|f32] [--threads N] [--models tinyllama,mixtral]
//              [--tokens 1,2,4,...] [--kernels best|AVX2|...] [--library both|ours|onednn]
//              [--exact NAME|none]
//
// A variant whose BF16 products round x to BF16 (AVX3_BF16 on vdpbf16ps,
// AVX3_AMX on AMX tiles) is measured against the pool's peak of the
// instruction it multiplies with, probed like the FMA's, and in the same run
// against an exact variant (--exact; by default the same name without its
// _BF16 / _AMX suffix): the "exact/ours" column is that variant's time over
// ours.
//
// oneDNN runs with its own OpenMP threads (as many as --threads) on
// activations already in its input type: for BF16 weights oneDNN wants BF16
// activations too, so its BF16 line rounds x (ours keeps x in f32), and
// the conversion is not timed. Its OpenMP threads and our pool's workers
// both wait for work by spinning, so on a 2-core machine one side's idle
// threads slow the other: `--library ours` and `--library onednn` in
// separate runs give the clean figures.
//
// At the end, the per-matrix times are added up to one TinyLlama forward
// (22 layers of q, k, v, o, gate, up, down, plus lm_head): tokens/s at each
// token count, against the one-token rate.

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "localmoe/base/cpu_features.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe::bench {
namespace {

struct Shape2 {
  const char* model;
  const char* name;
  int64_t rows;  // N, output features
  int64_t cols;  // K, input features
};

constexpr Shape2 kShapes[] = {
    {"tinyllama", "q_proj/o_proj", 2048, 2048}, {"tinyllama", "k_proj/v_proj", 256, 2048},
    {"tinyllama", "gate/up_proj", 5632, 2048},  {"tinyllama", "down_proj", 2048, 5632},
    {"tinyllama", "lm_head", 32000, 2048},      {"mixtral", "q_proj/o_proj", 4096, 4096},
    {"mixtral", "k_proj/v_proj", 1024, 4096},   {"mixtral", "expert w1/w3", 14336, 4096},
    {"mixtral", "expert w2", 4096, 14336},
};

// How often one TinyLlama forward applies a matrix of this shape (22
// layers; q and o, k and v, gate and up share a shape); 0 for Mixtral's.
double layer_uses(const Shape2& s) {
  if (std::string(s.model) != "tinyllama") return 0;
  if (std::string(s.name) == "lm_head") return 1;
  if (std::string(s.name) == "down_proj") return 22;
  return 44;
}

double tinyllama_forward_weights() {
  double total = 0;
  for (const Shape2& s : kShapes) total += layer_uses(s) * static_cast<double>(s.rows * s.cols);
  return total;
}

// Enough copies of a matrix that one pass over all of them does not fit in
// the last-level cache.
constexpr size_t kRotationBytes = size_t{256} << 20;
constexpr double kMinSeconds = 0.4;
constexpr int kMinCalls = 3;

std::vector<int64_t> parse_list(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoll(item));
  return values;
}

void fill_pattern(void* data, size_t bytes) {
  // Small weights, no denormals: the values do not matter for speed.
  auto* p = static_cast<uint16_t*>(data);
  uint32_t state = 12345;
  for (size_t i = 0; i < bytes / 2; ++i) {
    state = state * 1664525u + 1013904223u;
    p[i] = static_cast<uint16_t>(0x3C00u + (state >> 24));
  }
}

// Median seconds per call of `call(copy)`, rotating over `copies`.
template <typename Call>
double time_calls(int copies, Call&& call) {
  std::vector<double> seconds;
  call(0);  // warm-up: first-touch, primitive creation, code paths
  double total = 0;
  int i = 1;
  while (total < kMinSeconds || static_cast<int>(seconds.size()) < kMinCalls) {
    const auto start = std::chrono::steady_clock::now();
    call(i % copies);
    seconds.push_back(seconds_since(start));
    total += seconds.back();
    ++i;
  }
  return median(seconds);
}

struct Matrices {
  std::vector<AlignedBuffer> copies;
  std::vector<kernels::Weight> weights;
};

Matrices make_matrices(Allocator& allocator, const Shape2& s, DType dtype, int copies) {
  Matrices m;
  const size_t bytes = static_cast<size_t>(s.rows * s.cols) * dtype_size(dtype);
  for (int c = 0; c < copies; ++c) {
    m.copies.push_back(allocator.allocate(bytes, MemoryCategory::kWeights));
    if (dtype == DType::kF32) {
      float* p = m.copies.back().as<float>();
      for (int64_t i = 0; i < s.rows * s.cols; ++i) p[i] = 0.01f * static_cast<float>(i % 17);
    } else {
      fill_pattern(m.copies.back().data(), bytes);
    }
    m.weights.push_back(
        kernels::Weight::dense(TensorView{m.copies.back().data(), dtype, Shape{s.rows, s.cols}}));
  }
  return m;
}

// oneDNN's matmul y[M, N] = x[M, K] * w^T with w as stored ([N, K] row-major,
// i.e. a K x N matrix with strides {1, K}); nullopt where oneDNN has no
// implementation for the types on this CPU.
struct DnnlMatmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

std::optional<DnnlMatmul> make_dnnl(const dnnl::engine& engine, int64_t m, int64_t n, int64_t k,
                                    dnnl::memory::data_type type) {
  using Dims = dnnl::memory::dims;
  const dnnl::memory::desc src({m, k}, type, Dims{k, 1});
  const dnnl::memory::desc wei({k, n}, type, Dims{1, k});
  const dnnl::memory::desc dst({m, n}, dnnl::memory::data_type::f32, Dims{n, 1});
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), engine);
    return DnnlMatmul{pd, dnnl::matmul(pd)};
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

// The exact variant a BF16-rounding one is compared with: its name without
// the suffix that selects the BF16 GEMM.
std::string exact_counterpart(const std::string& name) {
  for (const std::string suffix : {"_BF16", "_AMX"}) {
    if (name.ends_with(suffix)) return name.substr(0, name.size() - suffix.size());
  }
  return "none";
}

int run(int argc, char** argv) {
  std::string dtype_arg = "bf16", kernels_arg = "best", models_arg = "tinyllama,mixtral";
  std::string tokens_arg = "1,2,4,8,16,32,64,128,512", library = "both", exact_arg;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--dtype") {
      dtype_arg = value;
    } else if (flag == "--threads") {
      threads = std::atoi(value.c_str());
    } else if (flag == "--models") {
      models_arg = value;
    } else if (flag == "--tokens") {
      tokens_arg = value;
    } else if (flag == "--kernels") {
      kernels_arg = value;
    } else if (flag == "--library") {
      library = value;
    } else if (flag == "--exact") {
      exact_arg = value;
    } else {
      std::fprintf(stderr, "gemm_bench: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (dtype_arg != "bf16" && dtype_arg != "f32") {
    std::fprintf(stderr, "gemm_bench: --dtype must be bf16 or f32, not %s\n", dtype_arg.c_str());
    return 2;
  }
  if (library != "both" && library != "ours" && library != "onednn") {
    std::fprintf(stderr, "gemm_bench: --library must be both, ours or onednn, not %s\n",
                 library.c_str());
    return 2;
  }
  const bool run_ours = library != "onednn", run_dnnl = library != "ours";
  const DType dtype = dtype_arg == "f32" ? DType::kF32 : DType::kBF16;
  const auto dnnl_type =
      dtype == DType::kF32 ? dnnl::memory::data_type::f32 : dnnl::memory::data_type::bf16;
  const kernels::Kernels kernels = kernels::Kernels::select(kernels_arg);
  if (exact_arg.empty()) exact_arg = exact_counterpart(kernels.name());
  const std::optional<kernels::Kernels> exact =
      exact_arg == "none" || !run_ours ? std::nullopt
                                       : std::optional(kernels::Kernels::select(exact_arg));
  const std::vector<int64_t> token_counts = parse_list(tokens_arg);

  Allocator allocator;
  ThreadPool pool(threads);
  omp_set_num_threads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);

  std::printf("cpu: %s; kernels: %s; threads: %d; oneDNN %d.%d.%d\n",
              cpu_features().describe().c_str(), kernels.name().c_str(), threads,
              dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch);
  const double peak = median(measure_peak_flops(kernels, pool, 5));
  BandwidthProbe probe(kernels, pool, allocator, size_t{512} << 20);
  std::vector<double> bandwidths;
  for (int i = 0; i < 5; ++i) bandwidths.push_back(probe.measure());
  const double bandwidth = median(bandwidths);
  std::printf("peak f32 FMA: %.1f GFLOP/s; read bandwidth: %.1f GB/s (medians of 5)\n", peak / 1e9,
              bandwidth / 1e9);
  // The peak each of our products is measured against: the BF16 GEMM's
  // instruction where it rounds x, the FMA elsewhere.
  double bf16_peak = peak;
  if (kernels.has_bf16_gemm_probe()) {
    bf16_peak = median(measure_bf16_gemm_peak(kernels, pool, 5));
    std::printf(
        "peak of %s's BF16 GEMM instruction: %.1f GFLOP/s (median of 5); %%peak of its "
        "rounding products is against it\n",
        kernels.name().c_str(), bf16_peak / 1e9);
  }
  if (exact) std::printf("exact/ours: %s's time over ours\n", exact->name().c_str());
  std::printf("%-10s %-14s %6s %6s %4s | %8s %7s %6s %7s %6s | %8s %6s | %8s %7s %6s | %6s  %s\n",
              "model", "matrix", "N", "K", "M", "ours ms", "GFLOP/s", "%peak", "GB/s", "%bw",
              "exact ms", "exact/ours", "dnnl ms", "GFLOP/s", "%peak", "ours/dnnl",
              "oneDNN implementation");

  std::map<int64_t, double> forward_seconds;  // tokens -> seconds of one forward's products
  for (const Shape2& s : kShapes) {
    if (models_arg.find(s.model) == std::string::npos) continue;
    const size_t bytes = static_cast<size_t>(s.rows * s.cols) * dtype_size(dtype);
    const int copies = static_cast<int>(std::max<size_t>(2, kRotationBytes / bytes + 1));
    const Matrices m = make_matrices(allocator, s, dtype, copies);
    for (int64_t tokens : token_counts) {
      std::vector<float> x(tokens * s.cols), y(tokens * s.rows);
      for (size_t i = 0; i < x.size(); ++i) x[i] = 0.001f * static_cast<float>(i % 101);
      const double flops = 2.0 * static_cast<double>(tokens * s.rows * s.cols);
      double ours = 0;
      if (run_ours) {
        ours = time_calls(copies, [&](int c) {
          kernels.matmul(m.weights[c], x.data(), tokens, y.data(), s.rows, pool);
        });
        forward_seconds[tokens] += ours * layer_uses(s);
      }
      double exact_seconds = 0;
      if (exact) {
        exact_seconds = time_calls(copies, [&](int c) {
          exact->matmul(m.weights[c], x.data(), tokens, y.data(), s.rows, pool);
        });
      }
      const double our_peak =
          kernels.matmul_rounds_x_to_bf16(m.weights[0].format, tokens) ? bf16_peak : peak;

      // oneDNN on the same weights; x in its input type.
      std::vector<uint16_t> x_bf16(x.size());
      for (size_t i = 0; i < x.size(); ++i) x_bf16[i] = f32_to_bf16(x[i]);
      void* x_dnnl = dtype == DType::kF32 ? static_cast<void*>(x.data()) : x_bf16.data();
      const std::optional<DnnlMatmul> mm =
          run_dnnl ? make_dnnl(engine, tokens, s.rows, s.cols, dnnl_type) : std::nullopt;
      double theirs = 0;
      if (mm) {
        dnnl::memory src(mm->pd.src_desc(), engine, x_dnnl);
        dnnl::memory wei(mm->pd.weights_desc(), engine, const_cast<void*>(m.weights[0].data));
        dnnl::memory dst(mm->pd.dst_desc(), engine, y.data());
        theirs = time_calls(copies, [&](int c) {
          wei.set_data_handle(const_cast<void*>(m.weights[c].data));
          mm->primitive.execute(
              stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
          stream.wait();
        });
      }
      // Columns: ours (time, rate, share, streaming for <= 16 tokens), then
      // oneDNN's, then the ratio; "-" where a side did not run.
      char mine[64] = "       -       -      -       -      -";
      if (run_ours) {
        char streaming[32] = "      -      -";
        if (tokens <= 16) {
          std::snprintf(streaming, sizeof(streaming), "%7.1f %5.1f%%", bytes / ours / 1e9,
                        100.0 * bytes / ours / bandwidth);
        }
        std::snprintf(mine, sizeof(mine), "%8.3f %7.1f %5.1f%% %s", ours * 1e3, flops / ours / 1e9,
                      100.0 * flops / ours / our_peak, streaming);
      }
      char exact_text[32] = "       -      -";
      if (exact) {
        std::snprintf(exact_text, sizeof(exact_text), "%8.3f %5.2fx", exact_seconds * 1e3,
                      exact_seconds / ours);
      }
      char theirs_text[48] = "       -       -      -";
      char ratio[16] = "     -";
      std::string implementation = run_dnnl ? "no implementation" : "not run";
      if (mm) {
        std::snprintf(theirs_text, sizeof(theirs_text), "%8.3f %7.1f %5.1f%%", theirs * 1e3,
                      flops / theirs / 1e9, 100.0 * flops / theirs / peak);
        implementation = mm->pd.impl_info_str();
        if (run_ours) std::snprintf(ratio, sizeof(ratio), "%5.2fx", theirs / ours);
      }
      std::printf("%-10s %-14s %6lld %6lld %4lld | %s | %s | %s | %9s  %s\n", s.model, s.name,
                  static_cast<long long>(s.rows), static_cast<long long>(s.cols),
                  static_cast<long long>(tokens), mine, exact_text, theirs_text, ratio,
                  implementation.c_str());
      std::fflush(stdout);
    }
  }
  if (run_ours && models_arg.find("tinyllama") != std::string::npos && forward_seconds.count(1)) {
    const double one = 1.0 / forward_seconds[1];
    for (const auto& [tokens, seconds] : forward_seconds) {
      const double flops = 2.0 * static_cast<double>(tokens) * tinyllama_forward_weights();
      const double forward_peak =
          kernels.matmul_rounds_x_to_bf16(kernels::dense_weight_format(dtype), tokens) ? bf16_peak
                                                                                       : peak;
      std::printf(
          "TinyLlama forward, matrix products only: %4lld tokens %8.1f ms = %7.1f tokens/s "
          "(%5.2fx one token), %6.1f GFLOP/s = %5.1f%% of peak\n",
          static_cast<long long>(tokens), seconds * 1e3, tokens / seconds, tokens / seconds / one,
          flops / seconds / 1e9, 100.0 * flops / seconds / forward_peak);
    }
  }
  return 0;
}

}  // namespace
}  // namespace localmoe::bench

int main(int argc, char** argv) {
  try {
    return localmoe::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gemm_bench: %s\n", e.what());
    return 1;
  }
}
