// The batching engine end to end on the float64 oracle's fixture models:
// greedy tokens equal the oracle's alone, among many other requests, after a
// prefix-cache hit and through preemption; every block returns to the pool;
// n > 1, aborts, and the engine's own thread.

#include "localmoe/engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "localmoe/config/hf_config.h"
#include "localmoe/engine/completion.h"
#include "localmoe/kernels/kernels.h"
#include "localmoe/loader/checkpoint.h"
#include "localmoe/model/model_loader.h"
#include "test_support/fixture_models.h"

namespace localmoe {
namespace {

constexpr int64_t kBlockSize = 4;

// A model, its KV cache of `num_blocks` blocks and an engine over them.
struct Fixture {
  explicit Fixture(const std::string& name, int64_t num_blocks = 64, int64_t host_blocks = 0,
                   int64_t max_num_batched_tokens = 32, int64_t max_num_seqs = 16)
      : dir(model_dir(name)),
        kernels(kernels::Kernels::select("best")),
        pool(2),
        model(load_transformer(dir, 32, kBlockSize, kernels, allocator, pool)) {
    config.block_size = kBlockSize;
    config.max_num_batched_tokens = max_num_batched_tokens;
    config.max_num_seqs = max_num_seqs;
    config.max_chunked_prefill_tokens = 5;  // uneven chunks
    const KvCacheLayout layout = model->kv_layout(DType::kF32);
    capacity = KvCacheCapacity{num_blocks, host_blocks, kBlockSize, layout.bytes_per_block()};
    engine = std::make_unique<Engine>(*model, nullptr, config, capacity, DType::kF32,
                                      model->config().max_position_embeddings, allocator);
  }

  std::string dir;
  kernels::Kernels kernels;
  Allocator allocator;
  ThreadPool pool;
  std::unique_ptr<Transformer> model;
  EngineConfig config;
  KvCacheCapacity capacity;
  std::unique_ptr<Engine> engine;
};

SamplingParams greedy(int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

// Every choice's tokens, in order, once the stream is done.
std::vector<std::vector<int32_t>> drain(OutputStream& stream, int64_t n,
                                        std::vector<FinishReason>* reasons = nullptr) {
  std::vector<std::vector<int32_t>> tokens(n);
  while (auto out = stream.try_next()) {
    tokens[out->index].insert(tokens[out->index].end(), out->token_ids.begin(),
                              out->token_ids.end());
    if (out->finish_reason && reasons != nullptr) reasons->push_back(*out->finish_reason);
  }
  return tokens;
}

void run_to_completion(Engine& engine) {
  for (int guard = 0; engine.step(); ++guard) ASSERT_LT(guard, 100000) << "the engine never idles";
}

void expect_all_blocks_free(const Engine& engine) {
  const SchedulerStats s = engine.stats().scheduler;
  EXPECT_EQ(s.num_running, 0);
  EXPECT_EQ(s.num_waiting, 0);
  EXPECT_EQ(s.num_free_blocks, s.num_blocks) << "blocks leaked";
}

TEST(Engine, GreedyTokensEqualTheOracleAloneAndAmongOthers) {
  for (const char* name : {"llama_f32", "mistral_f32", "gpt2_f32", "mixtral_f32"}) {
    Fixture f(name);
    const std::vector<int32_t> prompt = expected_ints(f.dir, "input_ids");
    const std::vector<int32_t> oracle = expected_ints(f.dir, "greedy_ids");
    const int64_t n = static_cast<int64_t>(oracle.size());

    auto alone = f.engine->add_request(prompt, greedy(n));
    run_to_completion(*f.engine);
    EXPECT_EQ(drain(*alone, 1)[0], oracle) << name << " alone";

    // The same request again, beside others of other lengths that arrive
    // before and after it: prefill chunks and decodes share its steps.
    std::vector<std::shared_ptr<OutputStream>> others;
    for (int i = 0; i < 5; ++i) {
      std::vector<int32_t> other(3 + 4 * i);
      for (size_t j = 0; j < other.size(); ++j)
        other[j] = static_cast<int32_t>((7 * i + 3 * j) % 90 + 1);
      others.push_back(f.engine->add_request(other, greedy(5 + 3 * i)));
      if (i == 2) alone = f.engine->add_request(prompt, greedy(n));
    }
    run_to_completion(*f.engine);
    EXPECT_EQ(drain(*alone, 1)[0], oracle) << name << " in a batch";
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(static_cast<int64_t>(drain(*others[i], 1)[0].size()), 5 + 3 * i) << name;
    }
    const EngineStats stats = f.engine->stats();
    EXPECT_GT(stats.scheduler.prefix_cache.hit_blocks, 0) << "the repeated prompt should hit";
    expect_all_blocks_free(*f.engine);
  }
}

TEST(Engine, PreemptionKeepsTheTokens) {
  // Room for about two sequences at a time: the third forces preemption.
  for (int64_t host_blocks : {0, 64}) {
    Fixture f("llama_f32", /*num_blocks=*/24, host_blocks);
    const std::vector<int32_t> prompt = expected_ints(f.dir, "input_ids");
    const std::vector<int32_t> oracle = expected_ints(f.dir, "greedy_ids");
    std::vector<std::shared_ptr<OutputStream>> streams;
    for (int i = 0; i < 4; ++i) {
      streams.push_back(f.engine->add_request(prompt, greedy(static_cast<int64_t>(oracle.size()))));
    }
    run_to_completion(*f.engine);
    for (auto& s : streams) EXPECT_EQ(drain(*s, 1)[0], oracle) << "host blocks " << host_blocks;
    EXPECT_GT(f.engine->stats().scheduler.num_preemptions, 0) << "the test must preempt";
    expect_all_blocks_free(*f.engine);
  }
}

TEST(Engine, SeveralChoicesShareThePromptAndDiffer) {
  Fixture f("llama_f32");
  const std::vector<int32_t> prompt = expected_ints(f.dir, "input_ids");
  SamplingParams p;
  p.n = 3;
  p.seed = 7;
  p.temperature = 1.5f;
  p.max_tokens = 12;
  p.ignore_eos = true;
  auto first = f.engine->add_request(prompt, p);
  run_to_completion(*f.engine);
  const auto choices = drain(*first, 3);
  for (const auto& c : choices) EXPECT_EQ(c.size(), 12u);
  EXPECT_NE(choices[0], choices[1]);
  EXPECT_NE(choices[1], choices[2]);
  EXPECT_TRUE(first->done());
  // Seeded: the same request again gives the same choices.
  auto again = f.engine->add_request(prompt, p);
  run_to_completion(*f.engine);
  EXPECT_EQ(drain(*again, 3), choices);
  expect_all_blocks_free(*f.engine);
}

TEST(Engine, AbortFreesEveryBlockAtOnce) {
  Fixture f("mistral_f32");
  const std::vector<int32_t> prompt = expected_ints(f.dir, "input_ids");
  auto kept = f.engine->add_request(prompt, greedy(20));
  auto aborted = f.engine->add_request(prompt, greedy(20));
  ASSERT_TRUE(f.engine->step());
  f.engine->abort(aborted->id());
  run_to_completion(*f.engine);
  std::vector<FinishReason> reasons;
  drain(*aborted, 1, &reasons);
  EXPECT_EQ(reasons, (std::vector<FinishReason>{FinishReason::kAbort}));
  EXPECT_TRUE(aborted->done());
  EXPECT_EQ(drain(*kept, 1)[0].size(), 20u);
  EXPECT_EQ(f.engine->stats().num_requests_aborted, 1);
  expect_all_blocks_free(*f.engine);
}

TEST(Engine, RejectsWhatCanNeverRun) {
  Fixture f("llama_f32");
  try {
    f.engine->add_request({1, 2, 400}, greedy(4));
    ADD_FAILURE() << "an id outside the vocabulary was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("400"), std::string::npos) << e.what();
  }
  SamplingParams with_stop = greedy(4);
  with_stop.stop = {"x"};
  try {
    f.engine->add_request({1, 2}, with_stop);
    ADD_FAILURE() << "stop strings without a tokenizer were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stop strings need the model's tokenizer"),
              std::string::npos)
        << e.what();
  }
  try {
    f.engine->add_request({}, greedy(4));
    ADD_FAILURE() << "an empty prompt was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the prompt is empty"), std::string::npos) << e.what();
  }
  try {
    f.engine->add_request(std::vector<int32_t>(100, 1), greedy(100));
    ADD_FAILURE() << "a request longer than the context was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("128"), std::string::npos) << e.what();
  }
  expect_all_blocks_free(*f.engine);
}

TEST(Engine, PromptLogprobsAreTheOraclesThroughChunksAndAPrefixHit) {
  Fixture f("llama_f32");
  const OracleOutputs oracle = read_expected(f.dir);
  const int64_t vocab = f.model->config().vocab_size;
  // The same prompt first without prompt logprobs: its blocks are then in the
  // prefix cache, which the second request must not take (no logits there).
  auto warm = f.engine->add_request(oracle.input_ids, greedy(2));
  run_to_completion(*f.engine);
  EXPECT_EQ(drain(*warm, 1)[0].size(), 2u);
  SamplingParams p = greedy(3);
  p.prompt_logprobs = 2;
  auto stream = f.engine->add_request(oracle.input_ids, p);
  run_to_completion(*f.engine);
  const Completion c = Completion::collect(*stream, 1);
  ASSERT_EQ(c.prompt_logprobs.size(), oracle.input_ids.size() - 1);
  EXPECT_EQ(c.cached_prompt_tokens, 0);
  for (size_t i = 0; i < c.prompt_logprobs.size(); ++i) {
    // The row of position i predicts token i + 1.
    const float* row = oracle.logits.data() + i * vocab;
    double normalizer = 0.0;
    for (int64_t v = 0; v < vocab; ++v) normalizer += std::exp(static_cast<double>(row[v]));
    const int32_t token = oracle.input_ids[i + 1];
    const Logprobs& l = c.prompt_logprobs[i];
    EXPECT_EQ(l.token.token_id, token);
    EXPECT_NEAR(l.token.logprob, row[token] - std::log(normalizer), 1e-4) << "token " << i + 1;
    ASSERT_EQ(l.num_top, 2);
    EXPECT_EQ(l.top[0].token_id, std::max_element(row, row + vocab) - row) << "token " << i + 1;
  }
  EXPECT_EQ(c.choices[0].token_ids,
            std::vector<int32_t>(oracle.greedy_ids.begin(), oracle.greedy_ids.begin() + 3));
  expect_all_blocks_free(*f.engine);
}

TEST(Engine, StopsAtTheFirstEndOfSequenceToken) {
  const std::string dir = model_dir("llama_f32");
  const std::vector<int32_t> greedy_ids = expected_ints(dir, "greedy_ids");
  ModelConfig config = load_hf_config(dir);
  config.eos_token_ids = {greedy_ids[3]};
  const kernels::Kernels kernels = kernels::Kernels::select("best");
  Allocator allocator;
  ThreadPool pool(1);
  Transformer model(config, open_checkpoint(dir), 16, kBlockSize, kernels, allocator, pool);
  EngineConfig engine_config;
  engine_config.block_size = kBlockSize;
  engine_config.max_num_batched_tokens = 16;
  engine_config.max_num_seqs = 4;
  const KvCacheCapacity capacity{64, 0, kBlockSize, model.kv_layout(DType::kF32).bytes_per_block()};
  Engine engine(model, nullptr, engine_config, capacity, DType::kF32,
                config.max_position_embeddings, allocator);
  SamplingParams p;
  p.temperature = 0.0f;
  p.max_tokens = 32;
  auto stream = engine.add_request(expected_ints(dir, "input_ids"), p);
  run_to_completion(engine);
  const Completion c = Completion::collect(*stream, 1);
  EXPECT_EQ(c.choices[0].finish_reason, FinishReason::kStop);
  // The first occurrence of the EOS token ends generation, and is returned.
  const auto first = std::find(greedy_ids.begin(), greedy_ids.end(), greedy_ids[3]);
  EXPECT_EQ(c.choices[0].token_ids, std::vector<int32_t>(greedy_ids.begin(), first + 1));
}

TEST(Engine, GenerationEndsAtMaxModelLen) {
  Fixture f("gpt2_f32");  // 128 positions
  const std::vector<int32_t> prompt(120, 5);
  auto stream = f.engine->add_request(prompt, greedy(8));
  run_to_completion(*f.engine);
  const Completion c = Completion::collect(*stream, 1);
  EXPECT_EQ(c.choices[0].token_ids.size(), 8u);
  EXPECT_EQ(c.choices[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(c.prompt_tokens, 120);
}

TEST(Engine, Bf16WeightsInSmallChunksGiveTheOraclesTokens) {
  Fixture f("mistral_bf16", /*num_blocks=*/64, /*host_blocks=*/0, /*max_num_batched_tokens=*/5,
            /*max_num_seqs=*/4);
  const std::vector<int32_t> oracle = expected_ints(f.dir, "greedy_ids");
  auto stream = f.engine->add_request(expected_ints(f.dir, "input_ids"),
                                      greedy(static_cast<int64_t>(oracle.size())));
  run_to_completion(*f.engine);
  EXPECT_EQ(drain(*stream, 1)[0], oracle);
}

TEST(Engine, ItsOwnThreadServesRequestsFromOtherThreads) {
  Fixture f("gpt2_f32");
  const std::vector<int32_t> prompt = expected_ints(f.dir, "input_ids");
  const std::vector<int32_t> oracle = expected_ints(f.dir, "greedy_ids");
  f.engine->start();
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stream = f.engine->add_request(prompt, greedy(static_cast<int64_t>(oracle.size())));
      while (auto out = stream->next()) {
        results[c].insert(results[c].end(), out->token_ids.begin(), out->token_ids.end());
      }
    });
  }
  for (auto& t : clients) t.join();
  f.engine->stop();
  for (const auto& r : results) EXPECT_EQ(r, oracle);
  expect_all_blocks_free(*f.engine);
}

}  // namespace
}  // namespace localmoe
