#pragma once
// One client connection of HttpServer: reads requests with Beast's parser,
// calls the handler, writes responses and streams from a queue, enforces the
// limits and timeouts. Internal to the transport (http_server.cpp and
// http_connection.cpp are its only includers), so Boost stays out of the
// public headers.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "localmoe/server/http_connection_exchange.h"
#include "localmoe/server/http_exchange.h"
#include "localmoe/server/http_server.h"
#include "localmoe/server/http_wire.h"

namespace localmoe {

class HttpConnection;

// What the server and its connections share. Connections hold it by
// shared_ptr, so the io_context outlives every socket and timer, even a
// connection kept alive by an exchange a route still holds after stop().
struct HttpServerCore {
  HttpServerCore(HttpServerOptions options_in, HttpHandler handler_in)
      : options(std::move(options_in)), handler(std::move(handler_in)) {}

  // Registers a new connection; false once stopping (the caller closes it).
  // `serving` says whether it counts against max_connections.
  bool add(uint64_t id, const std::shared_ptr<HttpConnection>& connection, bool serving);
  void remove(uint64_t id);

  const HttpServerOptions options;
  const HttpHandler handler;
  boost::asio::io_context io;

  std::mutex mutex;
  std::condition_variable all_closed;  // notified when `connections` empties
  struct Entry {
    std::weak_ptr<HttpConnection> connection;
    bool serving;
  };
  std::unordered_map<uint64_t, Entry> connections;  // guarded by mutex
  int64_t num_serving = 0;                          // guarded by mutex
  uint64_t next_id = 0;                             // guarded by mutex
  bool stopping = false;                            // guarded by mutex
};

// One accepted socket on its own strand: every member below is touched only
// there, so the connection needs no lock of its own.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  using Socket = boost::asio::ip::tcp::socket;

  HttpConnection(std::shared_ptr<HttpServerCore> core, Socket socket, uint64_t id);

  // Starts reading requests (called once, from the acceptor).
  void start();
  // Answers an error without reading a request, then closes (over capacity).
  void reject(int status, std::string message);
  // From stop(): finish the exchange in progress, if any, then close.
  void begin_shutdown();
  // Closes now; an exchange in progress sees on_close.
  void abort();

  // The exchange's operations, from any thread; each runs on the strand.
  void post_response(std::shared_ptr<ExchangeState> state, HttpResponse response);
  void post_stream_start(std::shared_ptr<ExchangeState> state, int status, HttpHeaders headers);
  void post_chunk(std::shared_ptr<ExchangeState> state, std::string chunk);
  void post_finish(std::shared_ptr<ExchangeState> state);
  // The handle went away in `phase` (kAwaiting or kStreaming: unanswered).
  void post_dropped(std::shared_ptr<ExchangeState> state, ExchangeState::Phase phase);

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  // Where the reading side is; the writing side is the queue below.
  enum class ReadPhase {
    kIdle,      // kept alive, waiting for the next request's first byte
    kHeader,    // reading a request line and headers
    kBody,      // reading a body
    kHandling,  // the handler's exchange is in progress
    kClosing,   // our side shut down; draining until the client closes
    kClosed,
  };
  // What the transport does once an output item is written.
  enum class AfterWrite { kNothing, kEndExchange, kClose };

  struct OutItem {
    std::string bytes;
    std::shared_ptr<ExchangeState> owner;  // whose queued_bytes it counts in
    int64_t counted_bytes = 0;
    AfterWrite after = AfterWrite::kNothing;
  };

  void read_request();
  void on_header(boost::system::error_code ec);
  void read_body();
  void on_body(boost::system::error_code ec);
  void fail_request(boost::system::error_code ec);
  void dispatch();
  void handler_failed(const std::shared_ptr<ExchangeState>& state, const std::string& what);

  // One raw read into buffer_: the idle wait, disconnect detection while a
  // handler works, and the drain while closing.
  void read_some();
  void on_read_some(boost::system::error_code ec, size_t bytes);

  void send_response(const std::shared_ptr<ExchangeState>& state, HttpResponse response);
  void send_stream_start(const std::shared_ptr<ExchangeState>& state, int status,
                         HttpHeaders headers);
  void send_chunk(const std::shared_ptr<ExchangeState>& state, std::string chunk);
  void send_finish(const std::shared_ptr<ExchangeState>& state);
  void on_dropped(const std::shared_ptr<ExchangeState>& state, ExchangeState::Phase phase);
  // Answers without an exchange (400, 413, 431, 503) and closes after it.
  void send_error_and_close(int status, std::string_view message);

  // The Connection field of the next head, from keep_alive_ and the version.
  ConnectionField connection_field() const;
  void enqueue(OutItem item);
  void flush();
  void on_write(boost::system::error_code ec, size_t num_items);
  void end_exchange();

  void close_gracefully();
  void close_now();
  void arm_read_timer(std::chrono::milliseconds timeout);
  void cancel_read_timer();

  // Declared first, destroyed last: the io_context must outlive the socket.
  std::shared_ptr<HttpServerCore> core_;
  const HttpServerOptions& options_;
  const uint64_t id_;
  Socket socket_;
  const Socket::executor_type strand_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  uint64_t read_timer_generation_ = 0;
  uint64_t write_timer_generation_ = 0;
  std::string remote_address_;

  ReadPhase phase_ = ReadPhase::kHeader;
  bool read_pending_ = false;
  bool keep_alive_ = true;
  bool shutting_down_ = false;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;

  // The exchange in progress (kHandling) and how its response is framed.
  std::shared_ptr<ExchangeState> exchange_;
  std::string exchange_method_;  // for log messages
  std::string exchange_path_;
  int exchange_version_ = 11;
  bool exchange_is_head_ = false;
  bool stream_chunked_ = false;

  std::deque<OutItem> out_;
  size_t num_writing_ = 0;  // items of out_'s front in the write in flight
};

}  // namespace localmoe
