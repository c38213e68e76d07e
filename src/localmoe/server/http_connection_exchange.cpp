#include "localmoe/server/http_connection_exchange.h"

#include <exception>
#include <string>
#include <utility>

#include "localmoe/base/logging.h"
#include "localmoe/server/http_connection.h"

namespace localmoe {
namespace {

// The handle a handler receives. Every call settles the caller-side phase
// under the state's mutex and posts the work, in call order, to the strand.
// It reaches the connection through the state only while the exchange is
// open, so a handle kept after the response never keeps a connection alive.
class ConnectionExchange final : public HttpExchange {
 public:
  ConnectionExchange(std::shared_ptr<ExchangeState> state, int64_t max_queued_bytes)
      : state_(std::move(state)), max_queued_bytes_(max_queued_bytes) {}

  ~ConnectionExchange() override {
    std::lock_guard lock(state_->mutex);
    const ExchangeState::Phase phase = state_->phase;
    if (!state_->connection || phase == ExchangeState::Phase::kResponded ||
        phase == ExchangeState::Phase::kFinished) {
      return;
    }
    state_->phase = ExchangeState::Phase::kFinished;
    state_->connection->post_dropped(state_, phase);
  }

  void respond(HttpResponse response) override {
    std::lock_guard lock(state_->mutex);
    if (!state_->connection || state_->phase != ExchangeState::Phase::kAwaiting) return;
    state_->phase = ExchangeState::Phase::kResponded;
    state_->connection->post_response(state_, std::move(response));
  }

  void start_stream(int status, HttpHeaders headers) override {
    std::lock_guard lock(state_->mutex);
    if (!state_->connection || state_->phase != ExchangeState::Phase::kAwaiting) return;
    state_->phase = ExchangeState::Phase::kStreaming;
    state_->connection->post_stream_start(state_, status, std::move(headers));
  }

  bool write(std::string chunk) override {
    std::shared_ptr<HttpConnection> connection;
    std::function<void()> callback;
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->connection || state_->phase != ExchangeState::Phase::kStreaming) return false;
      if (chunk.empty()) return true;
      state_->queued_bytes += static_cast<int64_t>(chunk.size());
      if (state_->queued_bytes <= max_queued_bytes_) {
        state_->connection->post_chunk(state_, std::move(chunk));
        return true;
      }
      connection = state_->connection;
      callback = state_->close_locked();
    }
    log_at(LogLevel::kWarn, "http: client not reading, more than ", max_queued_bytes_,
           " bytes queued; closing the connection");
    connection->abort();
    run_close_callback(callback);
    return false;
  }

  void finish() override {
    std::lock_guard lock(state_->mutex);
    if (!state_->connection || state_->phase != ExchangeState::Phase::kStreaming) return;
    state_->phase = ExchangeState::Phase::kFinished;
    state_->connection->post_finish(state_);
  }

  bool is_closed() const override {
    std::lock_guard lock(state_->mutex);
    return state_->closed;
  }

  void on_close(std::function<void()> callback) override {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->connection) {
        state_->on_close = std::move(callback);
        return;
      }
      if (!state_->closed) return;  // completed: the client never leaves it now
    }
    run_close_callback(callback);
  }

 private:
  const std::shared_ptr<ExchangeState> state_;
  const int64_t max_queued_bytes_;
};

}  // namespace

std::function<void()> ExchangeState::close_locked() {
  if (!connection) return {};
  connection.reset();
  closed = true;
  return std::exchange(on_close, {});
}

std::function<void()> ExchangeState::end_locked() {
  connection.reset();
  return std::exchange(on_close, {});
}

void run_close_callback(const std::function<void()>& callback) {
  if (!callback) return;
  try {
    callback();
  } catch (const std::exception& e) {
    log_at(LogLevel::kError, "http: an on_close callback threw: ", e.what());
  } catch (...) {
    log_at(LogLevel::kError, "http: an on_close callback threw a non-exception");
  }
}

std::shared_ptr<HttpExchange> make_connection_exchange(std::shared_ptr<ExchangeState> state,
                                                       int64_t max_queued_bytes) {
  return std::make_shared<ConnectionExchange>(std::move(state), max_queued_bytes);
}

}  // namespace localmoe
