#include "localmoe/engine/offline_batch.h"

#include "localmoe/base/error.h"

namespace localmoe {

size_t OfflineBatch::add(std::vector<int32_t> prompt_token_ids, const SamplingParams& params) {
  std::shared_ptr<OutputStream> stream = engine_.add_request(std::move(prompt_token_ids), params);
  completions_.emplace_back(stream->id(), params.n);
  streams_.push_back(std::move(stream));
  finished_.push_back(false);
  return completions_.size() - 1;
}

void OfflineBatch::drain(size_t index) {
  Completion& completion = completions_[index];
  while (std::optional<RequestOutput> output = streams_[index]->try_next()) {
    num_generated_tokens_ += static_cast<int64_t>(output->token_ids.size());
    completion.add(std::move(*output));
  }
  if (!finished_[index] && completion.finished()) {
    finished_[index] = true;
    ++num_finished_;
  }
}

void OfflineBatch::run(const std::function<void(const OfflineBatch&)>& after_step) {
  while (num_finished_ < static_cast<int64_t>(completions_.size())) {
    const bool stepped = engine_.step();
    for (size_t i = 0; i < completions_.size(); ++i) {
      if (!finished_[i]) drain(i);
    }
    if (after_step) after_step(*this);
    // Every queued request finishes through some step: a step that found
    // nothing to do while requests are open would be an engine bug.
    LM_CHECK(stepped || num_finished_ == static_cast<int64_t>(completions_.size()));
  }
}

}  // namespace localmoe
