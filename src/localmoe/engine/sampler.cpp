#include "localmoe/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

constexpr float kNegativeInfinity = -std::numeric_limits<float>::infinity();

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

void sort_unique(std::vector<int32_t>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

// ---- SamplingState -----------------------------------------------------------

SamplingState::SamplingState(const SamplingParams& params,
                             std::span<const int32_t> prompt_token_ids,
                             std::span<const int64_t> eos_token_ids, int64_t sample_index)
    : params_(params),
      seed_(params.seed ? *params.seed + static_cast<uint64_t>(sample_index) : random_seed()),
      rng_(seed_) {
  params_.validate();
  for (const auto& [id, bias] : params_.logit_bias) {
    biases_.push_back({id, std::clamp(bias, -kMaxLogitBias, kMaxLogitBias)});
  }
  if (params_.min_tokens > 0) {
    min_tokens_banned_ = params_.stop_token_ids;
    for (int64_t id : eos_token_ids) min_tokens_banned_.push_back(static_cast<int32_t>(id));
    sort_unique(min_tokens_banned_);
  }
  if (params_.repetition_penalty != 1.0f) {
    prompt_ids_.assign(prompt_token_ids.begin(), prompt_token_ids.end());
    sort_unique(prompt_ids_);
  }
  if (params_.has_penalties()) output_token_ids_.reserve(static_cast<size_t>(params_.max_tokens));
  for (const TokenBias& b : biases_) max_token_id_ = std::max(max_token_id_, b.token_id);
  for (const auto* ids : {&min_tokens_banned_, &prompt_ids_}) {
    if (!ids->empty()) max_token_id_ = std::max(max_token_id_, ids->back());
  }
}

double SamplingState::next_uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

// ---- Sampler -----------------------------------------------------------------

Sampler::Sampler(const kernels::Kernels& kernels, int64_t vocab_size)
    : kernels_(kernels),
      vocab_size_(vocab_size),
      penalizer_(vocab_size),
      raw_logits_(static_cast<size_t>(vocab_size)),
      ids_(static_cast<size_t>(vocab_size)),
      weights_(static_cast<size_t>(vocab_size)),
      num_blocks_((vocab_size + kBlock - 1) / kBlock),
      block_max_(static_cast<size_t>(num_blocks_)),
      buckets_(static_cast<size_t>(vocab_size)) {
  LM_CHECK_GT(vocab_size, 0);
  heap_.reserve(static_cast<size_t>(vocab_size));
  boundary_.reserve(static_cast<size_t>(vocab_size));
}

void Sampler::sample(float* logits, std::span<SamplingState* const> states,
                     std::span<SampledToken> out) {
  LM_CHECK_EQ(states.size(), out.size());
  for (size_t row = 0; row < states.size(); ++row) {
    out[row] = sample(logits + static_cast<int64_t>(row) * vocab_size_, *states[row]);
  }
}

SampledToken Sampler::sample(float* logits, SamplingState& state) {
  const SamplingParams& params = state.params_;
  LM_CHECK_LT(state.max_token_id_, vocab_size_);  // the engine validates ids against the vocabulary
  if (params.logprobs) {
    std::memcpy(raw_logits_.data(), logits, static_cast<size_t>(vocab_size_) * sizeof(float));
  }
  apply_logit_bias(state.biases_, logits);
  if (state.num_output_tokens_ < params.min_tokens)
    suppress_tokens(state.min_tokens_banned_, logits);
  if (params.has_penalties()) {
    penalizer_.apply(params, state.prompt_ids_, state.output_token_ids_, logits);
  }

  SampledToken result;
  result.token_id = params.is_greedy() ? static_cast<int32_t>(kernels_.argmax(logits, vocab_size_))
                                       : draw(logits, params, state.next_uniform());
  if (params.logprobs) {
    result.logprobs = compute_logprobs(kernels_, raw_logits_.data(), vocab_size_, result.token_id,
                                       *params.logprobs);
  }
  if (params.has_penalties()) state.output_token_ids_.push_back(result.token_id);
  ++state.num_output_tokens_;
  return result;
}

int32_t Sampler::draw(const float* logits, const SamplingParams& params, double uniform) {
  const float inv_temperature = 1.0f / params.temperature;
  const bool top_k = params.top_k > 0 && params.top_k < vocab_size_;
  const bool filtered = top_k || params.min_p > 0.0f;

  // With a filter, the maxima of blocks of the row let the passes below skip
  // blocks that hold no candidate; they also give the row's maximum.
  float max_logit;
  if (filtered) {
    max_logit = kNegativeInfinity;
    for (int64_t b = 0; b < num_blocks_; ++b) {
      const float* block = logits + b * kBlock;
      const int64_t length = std::min(kBlock, vocab_size_ - b * kBlock);
      block_max_[b] = block[kernels_.argmax(block, length)];
      max_logit = std::max(max_logit, block_max_[b]);
    }
  } else {
    max_logit = logits[kernels_.argmax(logits, vocab_size_)];
  }

  // min_p keeps p >= min_p * p_max, i.e. (l - max) / T >= log(min_p): a
  // threshold on the logit, needing no exponential.
  float floor = kNegativeInfinity;
  if (params.min_p > 0.0f) floor = max_logit + params.temperature * std::log(params.min_p);
  if (top_k) floor = std::max(floor, kth_largest(logits, params.top_k, floor));

  // Candidates and their probabilities under the temperature, renormalized
  // over the survivors of min_p and top_k (as vLLM's masks do).
  int64_t count = 0;
  if (!filtered) {
    for (int64_t i = 0; i < vocab_size_; ++i) {
      weights_[i] = (logits[i] - max_logit) * inv_temperature;
    }
    count = vocab_size_;
  } else {
    for (int64_t b = 0; b < num_blocks_; ++b) {
      if (block_max_[b] < floor) continue;
      const int64_t end = std::min((b + 1) * kBlock, vocab_size_);
      for (int64_t i = b * kBlock; i < end; ++i) {
        if (logits[i] >= floor) {
          ids_[count] = static_cast<int32_t>(i);
          weights_[count++] = (logits[i] - max_logit) * inv_temperature;
        }
      }
    }
  }
  kernels_.softmax(weights_.data(), count);

  if (params.top_p < 1.0f) {
    nucleus(logits, max_logit, inv_temperature, params.top_p, !filtered, count);
  }

  // Inverse CDF over the candidates in their fixed order with one uniform
  // draw, a block sum at a time: only the block holding the target is
  // walked id by id.
  const double target = uniform * static_cast<double>(kernels_.sum(weights_.data(), count));
  double cumulative = 0.0;
  int64_t begin = 0;
  for (; begin < count; begin += kBlock) {
    const int64_t length = std::min(kBlock, count - begin);
    const double block_mass = kernels_.sum(weights_.data() + begin, length);
    if (cumulative + block_mass > target) break;
    cumulative += block_mass;
  }
  int64_t chosen = -1;
  for (int64_t j = begin; j < count; ++j) {
    if (weights_[j] <= 0.0f) continue;
    chosen = j;
    cumulative += weights_[j];
    if (cumulative > target) break;
  }
  // Rounding left the target past the last block: the last candidate with
  // any probability.
  for (int64_t j = count - 1; chosen < 0 && j >= 0; --j) {
    if (weights_[j] > 0.0f) chosen = j;
  }
  LM_CHECK_GE(chosen, 0);
  return filtered ? ids_[chosen] : static_cast<int32_t>(chosen);
}

float Sampler::kth_largest(const float* logits, int64_t k, float floor) {
  // A min-heap of the k largest so far. Once it is full, a block whose
  // maximum does not beat its top is skipped whole.
  heap_.clear();
  const std::greater<float> min_heap;
  for (int64_t b = 0; b < num_blocks_; ++b) {
    if (block_max_[b] < floor) continue;
    if (static_cast<int64_t>(heap_.size()) == k && !(block_max_[b] > heap_.front())) continue;
    const int64_t end = std::min((b + 1) * kBlock, vocab_size_);
    for (int64_t i = b * kBlock; i < end; ++i) {
      const float v = logits[i];
      if (v < floor) continue;
      if (static_cast<int64_t>(heap_.size()) < k) {
        heap_.push_back(v);
        std::push_heap(heap_.begin(), heap_.end(), min_heap);
      } else if (v > heap_.front()) {
        std::pop_heap(heap_.begin(), heap_.end(), min_heap);
        heap_.back() = v;
        std::push_heap(heap_.begin(), heap_.end(), min_heap);
      }
    }
  }
  return static_cast<int64_t>(heap_.size()) < k ? floor : heap_.front();
}

void Sampler::nucleus(const float* logits, float max_logit, float inv_temperature, float top_p,
                      bool all_ids, int64_t count) {
  // vLLM's rule: in descending order (ties: lower id first), an id is kept
  // while the mass strictly above it is < top_p. The kept ids are thus those
  // ordered before or at a last one, (cut_logit, cut_id). Buckets above the
  // one where the mass reaches top_p are kept whole and buckets below it
  // dropped, so only that bucket is sorted to find the cut.
  auto bucket = [&](float logit) {
    const float depth = (max_logit - logit) * inv_temperature * kBucketsPerNat;
    return depth < kNumBuckets ? static_cast<int>(depth) : kNumBuckets - 1;
  };
  auto id_at = [&](int64_t j) { return all_ids ? static_cast<int32_t>(j) : ids_[j]; };

  // Bucket indices first (a loop that vectorizes), then their masses.
  uint16_t* buckets = buckets_.data();
  if (all_ids) {
    for (int64_t j = 0; j < count; ++j) buckets[j] = static_cast<uint16_t>(bucket(logits[j]));
  } else {
    for (int64_t j = 0; j < count; ++j) buckets[j] = static_cast<uint16_t>(bucket(logits[ids_[j]]));
  }
  bucket_mass_.fill(0.0);
  double total = 0.0;
  for (int64_t j = 0; j < count; ++j) {
    bucket_mass_[buckets[j]] += weights_[j];
    total += weights_[j];
  }
  const double target = static_cast<double>(top_p) * total;
  int cut_bucket = 0;
  double above = 0.0;  // mass of the buckets before cut_bucket
  while (cut_bucket < kNumBuckets - 1 && above + bucket_mass_[cut_bucket] < target) {
    above += bucket_mass_[cut_bucket++];
  }

  boundary_.clear();
  for (int64_t j = 0; j < count; ++j) {
    if (buckets[j] == cut_bucket) {
      const int32_t id = id_at(j);
      boundary_.push_back({logits[id], id, weights_[j]});
    }
  }
  auto before = [](float logit_a, int32_t id_a, float logit_b, int32_t id_b) {
    return logit_a > logit_b || (logit_a == logit_b && id_a < id_b);
  };
  std::sort(boundary_.begin(), boundary_.end(), [&](const Boundary& a, const Boundary& b) {
    return before(a.logit, a.token_id, b.logit, b.token_id);
  });
  // Empty only when rounding ran the search past every bucket: keep all.
  if (boundary_.empty()) return;
  Boundary cut = boundary_.front();
  for (const Boundary& c : boundary_) {
    if (above >= target) break;
    cut = c;
    above += c.weight;
  }
  // Branch-free, so the common whole-vocabulary case vectorizes.
  const float cut_logit = cut.logit;
  const int32_t cut_id = cut.token_id;
  float* weights = weights_.data();
  const int32_t* ids = ids_.data();
  auto dropped = [=](float logit, int32_t id) {
    return (logit < cut_logit) | ((logit == cut_logit) & (id > cut_id));
  };
  if (all_ids) {
    for (int32_t j = 0; j < static_cast<int32_t>(count); ++j) {
      weights[j] = dropped(logits[j], j) ? 0.0f : weights[j];
    }
  } else {
    for (int64_t j = 0; j < count; ++j) {
      weights[j] = dropped(logits[ids[j]], ids[j]) ? 0.0f : weights[j];
    }
  }
}

}  // namespace localmoe
