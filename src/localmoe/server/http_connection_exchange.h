#pragma once
// The HttpExchange a handler receives from a connection, and the state it
// shares with that connection. Internal to the transport.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "localmoe/server/http_exchange.h"

namespace localmoe {

class HttpConnection;

// What an exchange's handle and its connection share, under `mutex`: the
// handle moves `phase` forward, the connection ends or closes the exchange
// and returns written bytes from `queued_bytes`.
struct ExchangeState {
  enum class Phase { kAwaiting, kResponded, kStreaming, kFinished };

  // The client left: marks the exchange closed and returns the on_close
  // callback to run after unlocking (empty if none, or if the exchange had
  // ended or closed already). Needs `mutex`.
  std::function<void()> close_locked();
  // The response is on the wire: detaches the connection and returns the
  // callback, which will never run, to be destroyed after unlocking.
  std::function<void()> end_locked();

  std::mutex mutex;
  Phase phase = Phase::kAwaiting;
  // Set while the exchange is open: the handle's only way to its connection.
  std::shared_ptr<HttpConnection> connection;
  bool closed = false;
  std::function<void()> on_close;
  int64_t queued_bytes = 0;  // stream bytes handed over, not yet written
};

// Runs an on_close callback, logging instead of propagating what it throws.
void run_close_callback(const std::function<void()>& callback);

// The handle for an open exchange (`state->connection` set). Its calls take
// the state's mutex, move the phase and post the work to the connection's
// strand, so bytes leave in call order whatever thread calls.
std::shared_ptr<HttpExchange> make_connection_exchange(std::shared_ptr<ExchangeState> state,
                                                       int64_t max_queued_bytes);

}  // namespace localmoe
