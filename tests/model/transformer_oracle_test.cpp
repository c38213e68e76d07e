// The forward pass against the float64 Hugging Face oracle
// (tests/reference/make_fixtures.py): logits at every position, through
// the KV cache in uneven chunks, and 32 greedy tokens, for every
// architecture (Mixtral's sparse MoE included), in F32 and BF16, with the
// best and the generic kernels.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "localmoe/base/error.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/loader/checkpoint.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

struct OracleCase {
  std::string model;
  double tolerance;  // max |delta logit| / max |logit|
  std::string variant;
};

void PrintTo(const OracleCase& c, std::ostream* out) {
  *out << c.model << "/" << c.variant;
}

class TransformerOracleTest : public ::testing::TestWithParam<OracleCase> {
 protected:
  const kernels::Kernels kernels_ = kernels::Kernels::select(GetParam().variant);
};

// Small blocks, so even the short oracle prompts span several of them.
constexpr int64_t kBlockSize = 4;

double relative_error(const float* actual, const float* expected, int64_t n) {
  double max_delta = 0, max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    max_delta = std::max(max_delta, std::abs(double(actual[i]) - expected[i]));
    max_abs = std::max(max_abs, std::abs(double(expected[i])));
  }
  return max_delta / max_abs;
}

TEST_P(TransformerOracleTest, MatchesHuggingFaceDefinition) {
  const OracleCase& c = GetParam();
  const std::string dir = model_dir(c.model);
  const OracleOutputs expected = read_expected(dir);
  Allocator allocator;
  ThreadPool pool(2);
  const auto model = load_transformer(dir, 16, kBlockSize, kernels_, allocator, pool);
  const int64_t vocab = model->config().vocab_size;
  const int64_t n = static_cast<int64_t>(expected.input_ids.size());
  ASSERT_EQ(static_cast<int64_t>(expected.logits.size()), n * vocab);

  // Whole prompt at once.
  SequenceRunner sequence(*model, 64, DType::kF32, allocator);
  std::vector<float> logits(n * vocab);
  sequence.append(expected.input_ids, LogitsFor::kAllTokens, logits.data());
  const double error = relative_error(logits.data(), expected.logits.data(), n * vocab);
  RecordProperty("relative_error", std::to_string(error));
  std::printf("%s/%s: max|delta logit| / max|logit| = %.2e (bound %.0e)\n", c.model.c_str(),
              c.variant.c_str(), error, c.tolerance);
  EXPECT_LE(error, c.tolerance);

  // The same prompt through the cache in chunks of 5, 1, 1, ... tokens.
  SequenceRunner chunked(*model, 64, DType::kF32, allocator);
  std::vector<float> chunk_logits(5 * vocab);
  for (int64_t begin = 0; begin < n;) {
    const int64_t count = begin == 0 ? std::min<int64_t>(5, n) : 1;
    chunked.append({expected.input_ids.data() + begin, static_cast<size_t>(count)},
                   LogitsFor::kAllTokens, chunk_logits.data());
    EXPECT_LE(
        relative_error(chunk_logits.data(), expected.logits.data() + begin * vocab, count * vocab),
        c.tolerance)
        << "chunk at " << begin;
    begin += count;
  }

  // Greedy continuation.
  std::vector<int32_t> generated;
  std::vector<float> last(vocab);
  int32_t next = static_cast<int32_t>(kernels_.argmax(logits.data() + (n - 1) * vocab, vocab));
  for (size_t i = 0; i < expected.greedy_ids.size(); ++i) {
    generated.push_back(next);
    sequence.append({&next, 1}, LogitsFor::kLastToken, last.data());
    next = static_cast<int32_t>(kernels_.argmax(last.data(), vocab));
  }
  EXPECT_EQ(generated, expected.greedy_ids);
}

std::vector<OracleCase> cases() {
  std::vector<OracleCase> out;
  for (const std::string variant : {"best", "generic"}) {
    out.push_back({"llama_f32", 1e-4, variant});
    out.push_back({"llama_bf16", 2e-2, variant});
    out.push_back({"mistral_f32", 1e-4, variant});
    out.push_back({"mistral_bf16", 2e-2, variant});
    out.push_back({"gpt2_f32", 1e-4, variant});
    out.push_back({"mixtral_f32", 1e-4, variant});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Models, TransformerOracleTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return info.param.model + "_" + info.param.variant;
                         });

TEST(TransformerRoutingTrace, RecordsTheOraclesExpertChoices) {
  const std::string dir = model_dir("mixtral_f32");
  const auto oracle = open_checkpoint(dir + "/expected.safetensors");
  const TensorView expected = oracle->view("router_experts");  // [layers, T, top_k]
  const OracleOutputs prompt = read_expected(dir);
  Allocator allocator;
  ThreadPool pool(2);
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  const auto model = load_transformer(dir, 16, kBlockSize, kernels, allocator, pool);
  const ModelConfig& config = model->config();
  RoutingTrace trace(config.num_layers, config.num_experts, config.num_experts_per_token);
  model->set_routing_trace(&trace);

  // In two chunks: the trace appends in token order whatever the chunking.
  SequenceRunner sequence(*model, 64, DType::kF32, allocator);
  const int64_t n = static_cast<int64_t>(prompt.input_ids.size());
  std::vector<float> logits(n * config.vocab_size);
  const std::span<const int32_t> ids(prompt.input_ids);
  sequence.append(ids.first(3), LogitsFor::kAllTokens, logits.data());
  sequence.append(ids.subspan(3), LogitsFor::kAllTokens, logits.data());

  ASSERT_EQ(expected.shape[0], config.num_layers);
  const int64_t per_layer = n * config.num_experts_per_token;
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const auto choices = trace.choices(layer);
    const int32_t* want = expected.as<int32_t>() + layer * per_layer;
    EXPECT_EQ(std::vector<int32_t>(choices.begin(), choices.end()),
              std::vector<int32_t>(want, want + per_layer))
        << "layer " << layer;
  }

  model->set_routing_trace(nullptr);
  sequence.reset();
  sequence.append(ids, LogitsFor::kLastToken, logits.data());
  EXPECT_EQ(trace.num_tokens(0), n);
}

TEST(TransformerRoutingTrace, RejectsATraceOfAnotherShapeOrADenseModel) {
  Allocator allocator;
  ThreadPool pool(1);
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  const auto moe =
      load_transformer(model_dir("mixtral_f32"), 4, kBlockSize, kernels, allocator, pool);
  RoutingTrace wrong(moe->config().num_layers + 1, moe->config().num_experts,
                     moe->config().num_experts_per_token);
  try {
    moe->set_routing_trace(&wrong);
    ADD_FAILURE() << "a trace of another shape was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the model's"), std::string::npos)
        << e.what();
  }
  const auto dense =
      load_transformer(model_dir("llama_f32"), 4, kBlockSize, kernels, allocator, pool);
  RoutingTrace any(dense->config().num_layers, 4, 2);
  try {
    dense->set_routing_trace(&any);
    ADD_FAILURE() << "a dense model accepted a routing trace";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no mixture-of-experts layers"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace localmoe
