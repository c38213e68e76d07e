#pragma once
// Token selection for a step's batch. The engine hands the Sampler one row of
// f32 logits per request that samples this step, each with that request's
// SamplingState. A row goes through vLLM's order of operations:
//   logit_bias -> min_tokens suppression -> repetition penalty (prompt and
//   output) -> frequency / presence penalties (output) -> then either
//   greedy: argmax, ties to the lowest id; or
//   temperature -> min_p and top_k (kept: ids at or above both thresholds;
//   top_k keeps every id tied with the k-th) -> top_p over the
//   renormalized survivors -> one draw.
// docs/sampling.md gives the formulas. Nothing allocates per token: scratch
// is sized once for the vocabulary, and only candidates are ever sorted
// (top_p sorts just the ids straddling its cut).

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "localmoe/engine/logprobs.h"
#include "localmoe/engine/penalties.h"
#include "localmoe/engine/sampling_params.h"
#include "localmoe/kernels/kernels.h"

namespace localmoe {

// What a request carries between steps for sampling: its parameters, its own
// random stream, and the token ids the penalties read. A seeded request thus
// samples the same tokens whatever it is batched with: no other request
// draws from its stream, and each sampled (non-greedy) token takes exactly
// one draw.
class SamplingState {
 public:
  // `params` must be valid for the vocabulary (validate(vocab_size));
  // `prompt_token_ids` feed the repetition penalty; `eos_token_ids` (the
  // model's) are suppressed with stop_token_ids until min_tokens, also with
  // ignore_eos (as vLLM). `sample_index` is i of params.n: a seeded request's
  // i-th choice uses seed + i (vLLM's rule), so the choices differ and each
  // is reproducible. Unseeded: one seed from std::random_device.
  SamplingState(const SamplingParams& params, std::span<const int32_t> prompt_token_ids,
                std::span<const int64_t> eos_token_ids, int64_t sample_index = 0);

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }
  int64_t num_output_tokens() const { return num_output_tokens_; }

 private:
  friend class Sampler;

  // Uniform in [0, 1) from the top 53 bits of one 64-bit draw: the same
  // values on every platform (std::uniform_real_distribution's are not).
  double next_uniform();

  SamplingParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<TokenBias> biases_;           // logit_bias, clamped to [-100, 100]
  std::vector<int32_t> min_tokens_banned_;  // distinct stop_token_ids and EOS ids
  std::vector<int32_t> prompt_ids_;         // distinct; empty without a repetition penalty
  std::vector<int32_t> output_token_ids_;   // kept only for the penalties; capacity max_tokens
  int64_t num_output_tokens_ = 0;
  int32_t max_token_id_ = -1;  // of the ids above, checked against the vocabulary
};

// One row's result.
struct SampledToken {
  int32_t token_id = 0;
  std::optional<Logprobs> logprobs;  // when the request asked for them
};

class Sampler {
 public:
  // One per engine; `kernels` is copied (a table of function pointers).
  Sampler(const kernels::Kernels& kernels, int64_t vocab_size);

  // logits: [states.size(), vocab_size] row-major, used as scratch (left
  // modified); out: [states.size()]. Each state records its sampled token.
  void sample(float* logits, std::span<SamplingState* const> states, std::span<SampledToken> out);
  // One row.
  SampledToken sample(float* logits, SamplingState& state);

  int64_t vocab_size() const { return vocab_size_; }

 private:
  // Candidate ids for top_p's cut are grouped by how far below the top
  // logit they are (1/16 nat wide, 64 nats deep); only the group where the
  // cut falls is sorted.
  static constexpr int kBucketsPerNat = 16;
  static constexpr int kNumBuckets = 64 * kBucketsPerNat;
  // Rows are also walked in blocks: block maxima let the min_p / top_k
  // passes skip blocks without candidates, block sums the draw's scan.
  static constexpr int64_t kBlock = 256;

  struct Boundary {  // a candidate in the group top_p cuts through
    float logit;
    int32_t token_id;
    float weight;
  };

  // Temperature, min_p, top_k, top_p and the draw over a processed row.
  int32_t draw(const float* logits, const SamplingParams& params, double uniform);
  // The k-th largest logit among those >= floor (floor when fewer pass).
  float kth_largest(const float* logits, int64_t k, float floor);
  // Cuts the `count` candidates (ids_ unless `all_ids`, weights_) to top_p's
  // nucleus: the weights of the others become 0.
  void nucleus(const float* logits, float max_logit, float inv_temperature, float top_p,
               bool all_ids, int64_t count);

  kernels::Kernels kernels_;
  int64_t vocab_size_;
  Penalizer penalizer_;
  std::vector<float> raw_logits_;   // [vocab_size] the row before processing, for logprobs
  std::vector<int32_t> ids_;        // [vocab_size] candidate ids
  std::vector<float> weights_;      // [vocab_size] candidate probabilities
  int64_t num_blocks_;              // ceil(vocab_size / kBlock)
  std::vector<float> block_max_;    // [num_blocks_] of the current row (min_p / top_k only)
  std::vector<float> heap_;         // top_k's min-heap; capacity vocab_size
  std::vector<uint16_t> buckets_;   // [vocab_size] top_p's bucket of each candidate
  std::vector<Boundary> boundary_;  // capacity vocab_size
  std::array<double, kNumBuckets> bucket_mass_{};
};

}  // namespace localmoe
