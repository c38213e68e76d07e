#include "localmoe/engine/completion.h"

#include <algorithm>
#include <iterator>

#include "localmoe/base/error.h"

namespace localmoe {

Completion::Completion(RequestId request_id, int64_t num_choices) : id(request_id) {
  LM_CHECK_GE(num_choices, int64_t{1});
  choices.resize(static_cast<size_t>(num_choices));
  for (size_t i = 0; i < choices.size(); ++i) choices[i].index = static_cast<int64_t>(i);
}

void Completion::add(RequestOutput&& output) {
  LM_CHECK_EQ(output.id, id);
  LM_CHECK_LT(static_cast<size_t>(output.index), choices.size());
  CompletionChoice& choice = choices[static_cast<size_t>(output.index)];
  LM_CHECK(!choice.finished());
  choice.token_ids.insert(choice.token_ids.end(), output.token_ids.begin(), output.token_ids.end());
  choice.text += output.text;
  choice.logprobs.insert(choice.logprobs.end(), output.logprobs.begin(), output.logprobs.end());
  prompt_logprobs.insert(prompt_logprobs.end(), output.prompt_logprobs.begin(),
                         output.prompt_logprobs.end());
  prompt_tokens = std::max(prompt_tokens, output.usage.prompt_tokens);
  cached_prompt_tokens = std::max(cached_prompt_tokens, output.usage.cached_prompt_tokens);
  if (output.finish_reason || output.error) {
    choice.finish_reason = output.finish_reason;
    choice.stop_token_id = output.stop_token_id;
    choice.stop_string = std::move(output.stop_string);
    choice.error = std::move(output.error);
    choice.timings = std::move(output.timings);
  }
  completion_tokens = 0;
  for (const CompletionChoice& c : choices) {
    completion_tokens += static_cast<int64_t>(c.token_ids.size());
  }
}

bool Completion::finished() const {
  return std::all_of(choices.begin(), choices.end(),
                     [](const CompletionChoice& c) { return c.finished(); });
}

Completion Completion::collect(OutputStream& stream, int64_t num_choices) {
  Completion completion(stream.id(), num_choices);
  while (std::optional<RequestOutput> output = stream.next()) completion.add(std::move(*output));
  return completion;
}

}  // namespace localmoe
