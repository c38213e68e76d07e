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

void OutputStream::set_on_ready(std::function<void()> on_ready) {
  std::shared_ptr<const std::function<void()>> callback;
  bool pending = false;
  {
    std::lock_guard lock(mutex_);
    if (on_ready) callback = std::make_shared<const std::function<void()>>(std::move(on_ready));
    on_ready_ = callback;
    pending = !pending_.empty();
  }
  if (callback && pending) (*callback)();
}

void OutputStream::push(RequestOutput output) {
  std::shared_ptr<const std::function<void()>> callback;
  {
    std::lock_guard lock(mutex_);
    if (output.finish_reason.has_value() || output.error.has_value()) --open_choices_;
    pending_.push_back(std::move(output));
    callback = on_ready_;
  }
  ready_.notify_all();
  if (callback) (*callback)();
}

}  // namespace localmoe
