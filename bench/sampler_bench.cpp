// Per-token cost of the Sampler on one row of a real vocabulary size, per
// mode, for two logit shapes: "flat" (normal, sd 2: a nucleus of a good part
// of the vocabulary, top_p's worst case) and "peaked" (the same plus +8 on a
// handful of ids, like a confident model). Every iteration restores the row
// first (the Sampler edits it in place); restore_row times that alone.
// sort_whole_vocabulary is the approach the Sampler avoids, for comparison:
// softmax, then sorting every id to cut top_p.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "localmoe/engine/sampler.h"

namespace localmoe::bench {
namespace {

enum Mode { kGreedy, kFull, kTopK, kTopP, kTopKTopP, kMinP, kPenalties, kLogprobs, kNumModes };
constexpr const char* kModeNames[kNumModes] = {
    "greedy",     "T=1",       "top_k=50",  "top_p=0.9", "top_k=50,top_p=0.95",
    "min_p=0.05", "penalties", "logprobs=5"};

std::vector<float> make_logits(int64_t vocab, bool peaked) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(static_cast<size_t>(vocab));
  for (float& v : logits) v = normal(rng);
  if (peaked) {
    for (int i = 0; i < 5; ++i) logits[static_cast<size_t>(rng() % vocab)] += 8.0f;
  }
  return logits;
}

SamplingParams params_for(Mode mode) {
  SamplingParams p;
  p.seed = 1;
  p.max_tokens = 1 << 20;
  switch (mode) {
    case kGreedy: p.temperature = 0.0f; break;
    case kFull: break;
    case kTopK: p.top_k = 50; break;
    case kTopP: p.top_p = 0.9f; break;
    case kTopKTopP:
      p.top_k = 50;
      p.top_p = 0.95f;
      break;
    case kMinP: p.min_p = 0.05f; break;
    case kPenalties:
      p.repetition_penalty = 1.1f;
      p.frequency_penalty = 0.3f;
      p.presence_penalty = 0.3f;
      break;
    case kLogprobs: p.logprobs = 5; break;
    case kNumModes: break;
  }
  return p;
}

// Args: vocabulary, mode, peaked.
void sample_row(benchmark::State& state) {
  const int64_t vocab = state.range(0);
  const auto mode = static_cast<Mode>(state.range(1));
  const std::vector<float> fresh = make_logits(vocab, state.range(2) != 0);
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  Sampler sampler(kernels, vocab);
  const SamplingParams params = params_for(mode);
  // Penalties read a 2,000-token prompt and up to 512 generated tokens (the
  // state restarts every 512 tokens, outside the timing).
  std::vector<int32_t> prompt(2000);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919) % vocab);
  auto request = std::make_unique<SamplingState>(params, prompt, std::vector<int64_t>{0});
  std::vector<float> row(fresh.size());
  int64_t tokens = 0;
  for (auto _ : state) {
    if (mode == kPenalties && ++tokens % 512 == 0) {
      state.PauseTiming();
      request = std::make_unique<SamplingState>(params, prompt, std::vector<int64_t>{0});
      state.ResumeTiming();
    }
    std::memcpy(row.data(), fresh.data(), fresh.size() * sizeof(float));
    benchmark::DoNotOptimize(sampler.sample(row.data(), *request).token_id);
  }
  state.SetLabel(std::string(kModeNames[mode]) + (state.range(2) ? " peaked" : " flat"));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void restore_row(benchmark::State& state) {
  const std::vector<float> fresh = make_logits(state.range(0), false);
  std::vector<float> row(fresh.size());
  for (auto _ : state) {
    std::memcpy(row.data(), fresh.data(), fresh.size() * sizeof(float));
    benchmark::DoNotOptimize(row.data());
  }
}

// top_p=0.9 by a softmax and a sort of every id, then the same draw.
void sort_whole_vocabulary(benchmark::State& state) {
  const int64_t vocab = state.range(0);
  const std::vector<float> fresh = make_logits(vocab, state.range(1) != 0);
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  std::vector<float> row(fresh.size());
  std::vector<int32_t> order(fresh.size());
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    std::memcpy(row.data(), fresh.data(), fresh.size() * sizeof(float));
    kernels.softmax(row.data(), vocab);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    double kept_mass = 0.0;
    int64_t kept = 0;
    while (kept < vocab && kept_mass < 0.9) kept_mass += row[order[kept++]];
    const double target = static_cast<double>(rng() >> 11) * 0x1.0p-53 * kept_mass;
    double cumulative = 0.0;
    int64_t chosen = 0;
    while (chosen + 1 < kept && (cumulative += row[order[chosen]]) <= target) ++chosen;
    benchmark::DoNotOptimize(order[chosen]);
  }
  state.SetLabel(state.range(1) ? "top_p=0.9 peaked" : "top_p=0.9 flat");
}

void sample_args(benchmark::internal::Benchmark* b) {
  for (int64_t vocab : {32000, 152064}) {
    for (int mode = 0; mode < kNumModes; ++mode) {
      for (int peaked : {0, 1}) b->Args({vocab, mode, peaked});
    }
  }
}

BENCHMARK(sample_row)->Apply(sample_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(restore_row)->Arg(32000)->Arg(152064)->Unit(benchmark::kMicrosecond);
BENCHMARK(sort_whole_vocabulary)
    ->Args({32000, 0})
    ->Args({32000, 1})
    ->Args({152064, 0})
    ->Args({152064, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace localmoe::bench

BENCHMARK_MAIN();
