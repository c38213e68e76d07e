#pragma once
// A stand-in for the model and the engine loop in scheduler tests. The fake
// model keeps a real KvStorage: for each scheduled request it first checks
// that every already computed position holds that position's token (so prefix
// hits, swaps and copy-on-write are proven to deliver the right KV), then
// writes the new positions, and samples next_token(history). Because the next
// token depends only on the sequence so far, a request's output must equal
// reference_output() however it was batched, chunked, preempted or cached.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "localmoe/engine/scheduler.h"
#include "localmoe/kv/kv_storage.h"

namespace localmoe::testing {

inline constexpr int64_t kBlockSize = 4;

// One layer, one KV head of two dims: key = {token, position}, value = {position, -token}.
inline KvCacheLayout fake_layout() {
  return KvCacheLayout{/*num_layers=*/1, /*num_kv_heads=*/1, /*head_dim=*/2, kBlockSize,
                       DType::kF32};
}

inline KvCacheCapacity fake_capacity(int64_t num_blocks, int64_t num_host_blocks = 0) {
  return KvCacheCapacity{num_blocks, num_host_blocks, kBlockSize, fake_layout().bytes_per_block()};
}

inline EngineConfig engine_config(int64_t max_num_batched_tokens, int64_t max_num_seqs,
                                  bool chunked_prefill = true, int64_t chunk_tokens = 0,
                                  bool prefix_caching = true) {
  EngineConfig c;
  c.block_size = kBlockSize;
  c.max_num_batched_tokens = max_num_batched_tokens;
  c.max_num_seqs = max_num_seqs;
  c.enable_chunked_prefill = chunked_prefill;
  c.max_chunked_prefill_tokens = chunk_tokens;
  c.enable_prefix_caching = prefix_caching;
  return c;
}

// The next token from the last three: FNV-1a, in [1, 997].
inline int32_t next_token(std::span<const int32_t> history) {
  uint32_t h = 2166136261u;
  const size_t from = history.size() > 3 ? history.size() - 3 : 0;
  for (size_t i = from; i < history.size(); ++i) {
    h = (h ^ static_cast<uint32_t>(history[i])) * 16777619u;
  }
  return static_cast<int32_t>(1 + h % 997);
}

// What a request generates alone: after `prompt` and the already chosen
// `forced` outputs, next_token until max_tokens or `stop_token`.
inline std::vector<int32_t> reference_output(std::span<const int32_t> prompt,
                                             std::span<const int32_t> forced, int64_t max_tokens,
                                             int32_t stop_token) {
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.insert(history.end(), forced.begin(), forced.end());
  std::vector<int32_t> out(forced.begin(), forced.end());
  while (static_cast<int64_t>(out.size()) < max_tokens &&
         (out.empty() || out.back() != stop_token)) {
    const int32_t t = next_token(history);
    history.push_back(t);
    out.push_back(t);
  }
  return out;
}

class FakeModel {
 public:
  FakeModel(int64_t num_blocks, int64_t num_host_blocks, Allocator& allocator)
      : storage_(fake_layout(), num_blocks, num_host_blocks, allocator) {}

  // Sampling `stop_token` ends a request (FinishReason::kStop); -1 = never.
  int32_t stop_token = -1;
  // Outputs of requests the engine finished (not aborted ones).
  std::map<RequestId, std::vector<int32_t>> finished;
  int64_t positions_checked = 0;

  // Copies, swaps, checks and writes KV, samples; one outcome per request.
  void run(const SchedulerOutput& out, std::vector<StepOutcome>& outcomes) {
    storage_.copy_blocks(out.copy_blocks);
    storage_.swap_out(out.swap_out);
    storage_.swap_in(out.swap_in);
    outcomes.clear();
    for (const ScheduledRequest& s : out.requests) {
      const std::span<const int32_t> tokens = s.request->token_ids();
      for (int64_t p = 0; p < s.num_computed_tokens; ++p) {
        const float* key = slot(keys(), s.block_table, p);
        EXPECT_EQ(key[0], static_cast<float>(tokens[p])) << "request " << s.id << " position " << p;
        EXPECT_EQ(key[1], static_cast<float>(p)) << "request " << s.id << " position " << p;
        const float* value = slot(values(), s.block_table, p);
        EXPECT_EQ(value[1], -static_cast<float>(tokens[p])) << "request " << s.id;
        ++positions_checked;
      }
      ASSERT_GE(static_cast<int64_t>(s.block_table.size()) * kBlockSize,
                s.num_computed_tokens + s.num_scheduled_tokens);
      for (int64_t p = s.num_computed_tokens; p < s.num_computed_tokens + s.num_scheduled_tokens;
           ++p) {
        float* key = slot(keys(), s.block_table, p);
        key[0] = static_cast<float>(tokens[p]);
        key[1] = static_cast<float>(p);
        float* value = slot(values(), s.block_table, p);
        value[0] = static_cast<float>(p);
        value[1] = -static_cast<float>(tokens[p]);
      }
      StepOutcome o;
      if (s.samples) {
        o.token = next_token(tokens);
        if (*o.token == stop_token) {
          o.finish = FinishReason::kStop;
        } else if (s.request->num_output_tokens() + 1 == s.request->max_tokens()) {
          o.finish = FinishReason::kLength;
        }
      }
      outcomes.push_back(o);
    }
  }

  // After update_from_output: keeps the outputs of the requests it finished.
  void collect(const SchedulerOutput& out, std::span<const StepOutcome> outcomes) {
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (!outcomes[i].finish || out.requests[i].request->finish_reason() == FinishReason::kAbort) {
        continue;
      }
      const auto tokens = out.requests[i].request->output_token_ids();
      finished[out.requests[i].id] = std::vector<int32_t>(tokens.begin(), tokens.end());
    }
  }

 private:
  float* keys() { return static_cast<float*>(storage_.keys(0)); }
  float* values() { return static_cast<float*>(storage_.values(0)); }
  static float* slot(float* base, std::span<const int32_t> table, int64_t position) {
    return base + (table[position / kBlockSize] * kBlockSize + position % kBlockSize) * 2;
  }

  KvStorage storage_;
};

// A scheduler and a fake model over the same number of blocks.
struct Harness {
  Harness(const EngineConfig& config, int64_t num_blocks, int64_t num_host_blocks,
          int64_t max_model_len)
      : scheduler(config, fake_capacity(num_blocks, num_host_blocks), max_model_len, allocator),
        model(num_blocks, num_host_blocks, allocator) {}

  // schedule(), run, update_from_output(); the output stays readable until
  // the next step.
  const SchedulerOutput& step() {
    const SchedulerOutput& out = scheduler.schedule();
    model.run(out, outcomes);
    scheduler.update_from_output(outcomes);
    model.collect(out, outcomes);
    return out;
  }

  // Steps until nothing is left; returns the number of steps.
  int run_to_completion(int max_steps = 10000) {
    int steps = 0;
    while (scheduler.has_unfinished() && steps < max_steps) {
      step();
      ++steps;
    }
    EXPECT_FALSE(scheduler.has_unfinished());
    return steps;
  }

  // Every block is back in the pool and the host area is empty.
  void expect_all_free() const {
    const KvCacheManager& kv = scheduler.kv_cache();
    EXPECT_EQ(kv.num_free_blocks(), kv.num_blocks());
    EXPECT_EQ(kv.num_free_host_blocks(), kv.num_host_blocks());
    for (int32_t b = 0; b < kv.num_blocks(); ++b) EXPECT_EQ(kv.pool().ref_count(b), 0);
  }

  Allocator allocator;
  Scheduler scheduler;
  FakeModel model;
  std::vector<StepOutcome> outcomes;
};

inline std::vector<int32_t> tokens(int n, int32_t first = 1) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = first + i;
  return t;
}

inline SamplingParams max_tokens(int64_t n) {
  SamplingParams p;
  p.max_tokens = n;
  return p;
}

}  // namespace localmoe::testing
