// A sequence's logits do not depend on what else is in the batch: the same
// tokens alone (one sequence in its own cache) and interleaved with other
// sequences — prefill chunks of uneven sizes beside decodes, blocks handed
// out in a scrambled order from one shared cache — agree to 1e-5 relative
// with F32 weights, for every architecture of the oracle fixtures.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "localmoe/engine/sequence_runner.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/kv/kv_storage.h"
#include "localmoe/model/batch.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

double relative_error(const float* actual, const float* expected, int64_t n) {
  double max_delta = 0, max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    max_delta = std::max(max_delta, std::abs(double(actual[i]) - expected[i]));
    max_abs = std::max(max_abs, std::abs(double(expected[i])));
  }
  return max_delta / max_abs;
}

// One sequence of the batched run: its tokens, its blocks and where it is.
struct Sequence {
  std::vector<int32_t> tokens;
  std::vector<int32_t> blocks;
  int64_t done = 0;
  std::vector<float> logits;  // [tokens, vocab], filled as computed
};

struct InvarianceCase {
  std::string model;
  std::string variant;
};

class BatchInvarianceTest : public ::testing::TestWithParam<InvarianceCase> {};

TEST_P(BatchInvarianceTest, LogitsAloneEqualLogitsInMixedBatches) {
  constexpr int64_t kBlockSize = 4;
  const kernels::Kernels kernels = kernels::Kernels::select(GetParam().variant);
  Allocator allocator;
  ThreadPool pool(2);
  const auto model =
      load_transformer(model_dir(GetParam().model), 32, kBlockSize, kernels, allocator, pool);
  const int64_t vocab = model->config().vocab_size;
  const int64_t vocab_limit = vocab - 1;

  // Three sequences of different lengths, deterministic pseudo-random ids.
  std::vector<Sequence> seqs(3);
  const int64_t lengths[3] = {23, 9, 17};
  uint32_t state = 12345;
  for (int64_t s = 0; s < 3; ++s) {
    for (int64_t i = 0; i < lengths[s]; ++i) {
      state = state * 1664525u + 1013904223u;
      seqs[s].tokens.push_back(static_cast<int32_t>(1 + (state >> 8) % vocab_limit));
    }
    seqs[s].logits.resize(static_cast<size_t>(lengths[s] * vocab));
  }

  // Alone: each sequence from an empty cache, in one pass.
  std::vector<std::vector<float>> alone(3);
  for (int64_t s = 0; s < 3; ++s) {
    SequenceRunner runner(*model, 64, DType::kF32, allocator);
    alone[s].resize(seqs[s].logits.size());
    runner.append(seqs[s].tokens, LogitsFor::kAllTokens, alone[s].data());
  }

  // Batched: one cache, blocks in a scrambled order, steps that mix chunks
  // of uneven sizes with one-token decodes.
  const int64_t num_blocks = 24;
  KvStorage kv(model->kv_layout(DType::kF32), num_blocks, 0, allocator);
  for (int64_t s = 0, next = 0; s < 3; ++s) {
    const int64_t blocks = (lengths[s] + kBlockSize - 1) / kBlockSize;
    for (int64_t b = 0; b < blocks; ++b, ++next) {
      seqs[s].blocks.push_back(static_cast<int32_t>((next * 7 + 5) % num_blocks));
    }
  }
  // Tokens each sequence contributes per step (0: absent from the step).
  const std::vector<std::vector<int64_t>> steps = {
      {5, 0, 3}, {1, 9, 6}, {7, 0, 1}, {1, 0, 1}, {9, 0, 6}};
  BatchBuilder builder(kBlockSize);
  std::vector<float> logits(32 * vocab);
  for (const std::vector<int64_t>& step : steps) {
    builder.clear();
    for (int64_t s = 0; s < 3; ++s) {
      const int64_t count = std::min(step[s], lengths[s] - seqs[s].done);
      if (count == 0) continue;
      builder.add_sequence({seqs[s].tokens.data() + seqs[s].done, static_cast<size_t>(count)},
                           seqs[s].done, seqs[s].blocks, LogitsFor::kAllTokens);
    }
    model->forward(builder.batch(), kv, logits.data());
    int64_t row = 0;
    for (int64_t s = 0; s < 3; ++s) {
      const int64_t count = std::min(step[s], lengths[s] - seqs[s].done);
      std::copy_n(logits.data() + row * vocab, count * vocab,
                  seqs[s].logits.data() + seqs[s].done * vocab);
      seqs[s].done += count;
      row += count;
    }
  }
  for (int64_t s = 0; s < 3; ++s) {
    ASSERT_EQ(seqs[s].done, lengths[s]) << "the steps must cover sequence " << s;
    for (int64_t t = 0; t < lengths[s]; ++t) {
      const double error =
          relative_error(seqs[s].logits.data() + t * vocab, alone[s].data() + t * vocab, vocab);
      ASSERT_LE(error, 1e-5) << GetParam().model << " sequence " << s << " token " << t;
    }
  }
}

std::vector<InvarianceCase> cases() {
  std::vector<InvarianceCase> out;
  for (const char* variant : {"best", "generic"}) {
    for (const char* model : {"llama_f32", "mistral_f32", "gpt2_f32", "mixtral_f32"}) {
      out.push_back({model, variant});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Models, BatchInvarianceTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return info.param.model + "_" + info.param.variant;
                         });

}  // namespace
}  // namespace localmoe
