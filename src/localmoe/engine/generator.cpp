#include "localmoe/engine/generator.h"

#include <algorithm>
#include <chrono>

#include "localmoe/base/error.h"
#include "localmoe/engine/sampler.h"
#include "localmoe/engine/sequence_runner.h"
#include "localmoe/engine/token_ids.h"

namespace localmoe {
namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

double GenerationResult::prefill_tokens_per_second() const {
  return prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0.0;
}

double GenerationResult::decode_tokens_per_second() const {
  const double steps = static_cast<double>(token_ids.size()) - 1.0;
  return decode_seconds > 0 && steps > 0 ? steps / decode_seconds : 0.0;
}

GenerationResult Generator::generate(std::span<const int32_t> prompt,
                                     const SamplingParams& params) {
  const ModelConfig& config = model_.config();
  params.validate();
  if (prompt.empty()) throw make_error(ErrorKind::kInvalidArgument, "the prompt is empty");
  validate_token_ids(prompt, config.vocab_size, "prompt");
  const int64_t prompt_tokens = static_cast<int64_t>(prompt.size());
  if (prompt_tokens >= config.max_position_embeddings) {
    throw make_error(ErrorKind::kInvalidArgument, "the prompt has ", prompt_tokens,
                     " tokens; the model's context is ", config.max_position_embeddings);
  }
  // Generation stops at the context length: the last generated token needs
  // no cache slot of its own.
  const int64_t max_new =
      std::min(params.max_tokens, config.max_position_embeddings - prompt_tokens);
  SequenceRunner sequence(model_, prompt_tokens + max_new, DType::kF32, allocator_);
  Sampler sampler(params, config.vocab_size, model_.kernels());
  std::vector<float> logits(static_cast<size_t>(config.vocab_size));

  GenerationResult result;
  result.prompt_tokens = prompt_tokens;
  result.token_ids.reserve(static_cast<size_t>(max_new));
  result.finish_reason = "length";
  auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < prompt_tokens; begin += model_.max_batch_tokens()) {
    const int64_t count = std::min(model_.max_batch_tokens(), prompt_tokens - begin);
    sequence.append(prompt.subspan(begin, count), LogitsFor::kLastToken, logits.data());
  }
  result.prefill_seconds = seconds_since(start);

  for (int64_t step = 0; step < max_new; ++step) {
    const int32_t token = sampler.sample(logits.data());
    result.token_ids.push_back(token);
    const bool is_eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(),
                                  token) != config.eos_token_ids.end();
    if (is_eos && !params.ignore_eos) {
      result.finish_reason = "stop";
      break;
    }
    if (step + 1 == max_new) break;
    if (step == 0) start = std::chrono::steady_clock::now();
    sequence.append({&token, 1}, LogitsFor::kLastToken, logits.data());
  }
  result.decode_seconds = result.token_ids.size() > 1 ? seconds_since(start) : 0.0;
  return result;
}

}  // namespace localmoe
