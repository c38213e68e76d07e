#include "localmoe/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "localmoe/kernels/kernels.h"

namespace localmoe {

Sampler::Sampler(const SamplingParams& params, int64_t vocab_size)
    : params_(params),
      vocab_size_(vocab_size),
      rng_(params.seed.value_or(std::random_device{}())),
      order_(static_cast<size_t>(vocab_size)) {
  params_.validate();
}

int32_t Sampler::sample(float* logits) {
  if (params_.temperature == 0.0f) {
    return static_cast<int32_t>(kernels::argmax(logits, vocab_size_));
  }
  const float inv_temperature = 1.0f / params_.temperature;
  for (int64_t i = 0; i < vocab_size_; ++i) logits[i] *= inv_temperature;
  kernels::softmax(logits, vocab_size_);

  // Candidates, most likely first; only as many as top_k needs sorting.
  std::iota(order_.begin(), order_.end(), 0);
  const int64_t k = params_.top_k > 0 ? std::min(params_.top_k, vocab_size_) : vocab_size_;
  auto by_probability = [logits](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), by_probability);

  const float top = logits[order_[0]];
  double kept_mass = 0.0;
  int64_t kept = 0;
  for (; kept < k; ++kept) {
    const float p = logits[order_[kept]];
    if (kept > 0 && p < params_.min_p * top) break;
    if (kept > 0 && kept_mass >= params_.top_p) break;
    kept_mass += p;
  }
  std::uniform_real_distribution<double> uniform(0.0, kept_mass);
  const double target = uniform(rng_);
  double cumulative = 0.0;
  for (int64_t i = 0; i < kept; ++i) {
    cumulative += logits[order_[i]];
    if (target < cumulative) return order_[i];
  }
  return order_[kept - 1];
}

}  // namespace localmoe
