// Perplexity against the one implied by the oracle's logits: with a window
// covering the prompt, the mean NLL is the oracle's, position by position.

#include "localmoe/engine/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "localmoe/base/error.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/loader/checkpoint.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

const kernels::Kernels& test_kernels() {
  static const kernels::Kernels kernels = kernels::Kernels::select("best");
  return kernels;
}

// Mean NLL of ids[1..] given the earlier ids, from the oracle's logits
// (one window over the whole prompt).
double oracle_mean_nll(const std::string& dir, std::vector<int32_t>* ids) {
  const auto expected = open_checkpoint(dir + "/expected.safetensors");
  const TensorView input = expected->view("input_ids");
  const TensorView logits = expected->view("logits");
  ids->assign(input.as<int32_t>(), input.as<int32_t>() + input.num_elements());
  const int64_t vocab = logits.cols();
  double nll = 0;
  int64_t count = 0;
  for (int64_t t = 0; t + 1 < static_cast<int64_t>(ids->size()); ++t) {
    const float* row = logits.as<float>() + t * vocab;
    double max_logit = row[0], sum = 0;
    for (int64_t v = 0; v < vocab; ++v) max_logit = std::max(max_logit, double(row[v]));
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max_logit);
    nll += max_logit + std::log(sum) - row[(*ids)[t + 1]];
    ++count;
  }
  return nll / count;
}

TEST(Perplexity, MatchesTheOracleLogits) {
  for (const char* name : {"llama_f32", "gpt2_f32", "mixtral_f32"}) {
    const std::string dir = model_dir(name);
    std::vector<int32_t> ids;
    const double expected = oracle_mean_nll(dir, &ids);
    Allocator allocator;
    ThreadPool pool(2);
    // Chunks of 5: the window runs as three forward passes.
    const auto model = load_transformer(dir, 5, /*block_size=*/4, test_kernels(), allocator, pool);
    const PerplexityResult result = evaluate_perplexity(*model, ids, 12, allocator);
    EXPECT_EQ(result.tokens_scored, 11) << name;
    EXPECT_NEAR(result.mean_nll(), expected, 1e-5 * expected) << name;
    EXPECT_NEAR(result.perplexity(), std::exp(expected), 1e-4 * std::exp(expected)) << name;
  }
}

TEST(Perplexity, WindowsRestartTheContext) {
  const std::string dir = model_dir("llama_f32");
  std::vector<int32_t> ids;
  oracle_mean_nll(dir, &ids);
  Allocator allocator;
  ThreadPool pool(1);
  const auto model = load_transformer(dir, 16, /*block_size=*/4, test_kernels(), allocator, pool);
  // Windows of 4: tokens 0-3, 4-7, 8-11, each scoring 3 predictions.
  const PerplexityResult windows = evaluate_perplexity(*model, ids, 4, allocator);
  EXPECT_EQ(windows.tokens_scored, 9);
  double nll = 0;
  for (int64_t w = 0; w < 3; ++w) {
    const std::vector<int32_t> part(ids.begin() + 4 * w, ids.begin() + 4 * w + 4);
    nll += evaluate_perplexity(*model, part, 4, allocator).negative_log_likelihood;
  }
  EXPECT_NEAR(windows.negative_log_likelihood, nll, 1e-9 * nll);
}

TEST(Perplexity, RejectsBadInput) {
  Allocator allocator;
  ThreadPool pool(1);
  const auto model = load_transformer(model_dir("llama_f32"), 16, /*block_size=*/4, test_kernels(),
                                      allocator, pool);
  const std::vector<int32_t> one = {5};
  EXPECT_THROW(evaluate_perplexity(*model, one, 8, allocator), Error);
  const std::vector<int32_t> ids = {1, 2, 3};
  EXPECT_THROW(evaluate_perplexity(*model, ids, 1, allocator), Error);
  EXPECT_THROW(evaluate_perplexity(*model, ids, 100000, allocator), Error);
  const std::vector<int32_t> outside = {1, 1000};
  EXPECT_THROW(evaluate_perplexity(*model, outside, 8, allocator), Error);
}

}  // namespace
}  // namespace localmoe
