#include "localmoe/engine/output_stream.h"

namespace localmoe {

std::optional<RequestOutput> OutputStream::next() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return !pending_.empty() || open_choices_ == 0; });
  if (pending_.empty()) return std::nullopt;
  RequestOutput output = std::move(pending_.front());
  pending_.pop_front();
  return output;
}

std::optional<RequestOutput> OutputStream::try_next() {
  std::lock_guard lock(mutex_);
  if (pending_.empty()) return std::nullopt;
  RequestOutput output = std::move(pending_.front());
  pending_.pop_front();
  return output;
}

bool OutputStream::done() const {
  std::lock_guard lock(mutex_);
  return open_choices_ == 0 && pending_.empty();
}

void OutputStream::push(RequestOutput output) {
  {
    std::lock_guard lock(mutex_);
    if (output.finish_reason.has_value() || output.error.has_value()) --open_choices_;
    pending_.push_back(std::move(output));
  }
  ready_.notify_all();
}

}  // namespace localmoe
