#include "localmoe/server/http_connection.h"

#include <exception>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"
#include "localmoe/server/http_wire.h"
#include "localmoe/server/sse.h"

namespace localmoe {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

// After our side shuts down, how long unread client bytes are drained before
// the socket is closed: closing with unread data sends a reset, which can
// destroy a 413 or 400 before the client has read it.
constexpr std::chrono::milliseconds kLingerTime{1000};
// Size of one raw read (idle wait, disconnect detection, drain).
constexpr size_t kReadChunkBytes = 16 << 10;
// Output items gathered into one write.
constexpr size_t kMaxItemsPerWrite = 64;

std::string to_string(boost::beast::string_view text) {
  return {text.data(), text.size()};
}

std::string format_endpoint(const net::ip::tcp::endpoint& endpoint) {
  const net::ip::address address = endpoint.address();
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return text + ":" + std::to_string(endpoint.port());
}

}  // namespace

// ---------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------

bool HttpServerCore::add(uint64_t id, const std::shared_ptr<HttpConnection>& connection,
                         bool serving) {
  std::lock_guard lock(mutex);
  if (stopping) return false;
  connections.emplace(id, Entry{connection, serving});
  if (serving) ++num_serving;
  return true;
}

void HttpServerCore::remove(uint64_t id) {
  std::lock_guard lock(mutex);
  auto it = connections.find(id);
  if (it == connections.end()) return;
  if (it->second.serving) --num_serving;
  connections.erase(it);
  if (connections.empty()) all_closed.notify_all();
}

// ---------------------------------------------------------------------------
// Life cycle
// ---------------------------------------------------------------------------

HttpConnection::HttpConnection(std::shared_ptr<HttpServerCore> core, Socket socket, uint64_t id)
    : core_(std::move(core)),
      options_(core_->options),
      id_(id),
      socket_(std::move(socket)),
      strand_(socket_.get_executor()),
      read_timer_(strand_),
      write_timer_(strand_) {
  error_code ec;
  const auto endpoint = socket_.remote_endpoint(ec);
  remote_address_ = ec ? "unknown" : format_endpoint(endpoint);
  // Streamed tokens are small writes that must leave at once.
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
}

void HttpConnection::start() {
  net::post(strand_, [self = shared_from_this()] { self->read_request(); });
}

void HttpConnection::reject(int status, std::string message) {
  net::post(strand_, [self = shared_from_this(), status, message = std::move(message)] {
    self->send_error_and_close(status, message);
  });
}

void HttpConnection::begin_shutdown() {
  net::post(strand_, [self = shared_from_this()] {
    self->shutting_down_ = true;
    switch (self->phase_) {
      case ReadPhase::kIdle:
      case ReadPhase::kHeader:
      case ReadPhase::kBody: self->close_now(); break;
      case ReadPhase::kHandling: self->keep_alive_ = false; break;
      case ReadPhase::kClosing:
      case ReadPhase::kClosed: break;
    }
  });
}

void HttpConnection::abort() {
  net::post(strand_, [self = shared_from_this()] { self->close_now(); });
}

// Shuts our side down (the client reads EOF after the last response), then
// drains what the client still sends for at most kLingerTime.
void HttpConnection::close_gracefully() {
  if (phase_ == ReadPhase::kClosed || phase_ == ReadPhase::kClosing) return;
  phase_ = ReadPhase::kClosing;
  error_code ec;
  socket_.shutdown(Socket::shutdown_send, ec);
  if (ec) {
    close_now();
    return;
  }
  buffer_.consume(buffer_.size());
  arm_read_timer(kLingerTime);
  if (!read_pending_) read_some();
}

void HttpConnection::close_now() {
  if (phase_ == ReadPhase::kClosed) return;
  phase_ = ReadPhase::kClosed;
  error_code ec;
  socket_.shutdown(Socket::shutdown_both, ec);
  socket_.close(ec);
  cancel_read_timer();
  ++write_timer_generation_;
  write_timer_.cancel();
  out_.clear();
  num_writing_ = 0;
  if (exchange_) {
    std::function<void()> callback;
    {
      std::lock_guard lock(exchange_->mutex);
      callback = exchange_->close_locked();
    }
    exchange_.reset();
    run_close_callback(callback);
  }
  core_->remove(id_);
}

void HttpConnection::arm_read_timer(std::chrono::milliseconds timeout) {
  const uint64_t generation = ++read_timer_generation_;
  read_timer_.expires_after(timeout);
  read_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || generation != self->read_timer_generation_) return;
    if (self->phase_ != ReadPhase::kClosing) {
      log_at(LogLevel::kDebug, "http: ", self->remote_address_, " timed out while reading");
    }
    self->close_now();
  });
}

void HttpConnection::cancel_read_timer() {
  ++read_timer_generation_;
  read_timer_.cancel();
}

// ---------------------------------------------------------------------------
// Reading requests
// ---------------------------------------------------------------------------

void HttpConnection::read_request() {
  if (phase_ == ReadPhase::kClosed) return;
  phase_ = ReadPhase::kHeader;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
  parser_->body_limit(static_cast<uint64_t>(options_.max_body_bytes));
  arm_read_timer(options_.header_timeout);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, size_t /*bytes*/) { self->on_header(ec); });
}

void HttpConnection::on_header(error_code ec) {
  if (phase_ == ReadPhase::kClosed) return;
  cancel_read_timer();
  if (ec) {
    fail_request(ec);
    return;
  }
  const auto& message = parser_->get();
  if (!parser_->is_done() && message.version() >= 11) {
    auto expect = message.find(http::field::expect);
    if (expect != message.end() && equals_ignore_case(to_string(expect->value()), "100-continue")) {
      enqueue({"HTTP/1.1 100 Continue\r\n\r\n", nullptr, 0, AfterWrite::kNothing});
    }
  }
  read_body();
}

void HttpConnection::read_body() {
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  phase_ = ReadPhase::kBody;
  arm_read_timer(options_.body_timeout);
  http::async_read_some(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, size_t /*bytes*/) { self->on_body(ec); });
}

void HttpConnection::on_body(error_code ec) {
  if (phase_ == ReadPhase::kClosed) return;
  cancel_read_timer();
  if (ec) {
    fail_request(ec);
    return;
  }
  read_body();
}

// A request that cannot be served: answer what the client can act on, and
// close quietly on what it did itself (EOF, reset, our timeout).
void HttpConnection::fail_request(error_code ec) {
  keep_alive_ = false;
  if (ec == http::error::body_limit) {
    send_error_and_close(
        413, "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  } else if (ec == http::error::header_limit) {
    send_error_and_close(
        431, "request header larger than " + std::to_string(options_.max_header_bytes) + " bytes");
  } else if (ec.category() == make_error_code(http::error::bad_target).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    send_error_and_close(400, "malformed request: " + ec.message());
  } else {
    close_now();
  }
}

void HttpConnection::dispatch() {
  const auto& message = parser_->get();
  HttpRequest request;
  request.method = to_string(message.method_string());
  const std::string target = to_string(message.target());
  const size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  request.version = static_cast<int>(message.version());
  for (const auto& field : message) {
    request.headers.add(to_string(field.name_string()), to_string(field.value()));
  }
  request.remote_address = remote_address_;
  keep_alive_ = message.keep_alive() && !shutting_down_;
  request.body = std::move(parser_->release().body());
  parser_.reset();
  // A large body grew the buffer; an idle connection keeps only a little.
  if (buffer_.size() == 0) buffer_.shrink_to_fit();

  phase_ = ReadPhase::kHandling;
  exchange_ = std::make_shared<ExchangeState>();
  exchange_method_ = request.method;
  exchange_path_ = request.path;
  exchange_version_ = request.version;
  exchange_is_head_ = request.method == "HEAD";
  // While the handler works, a read notices the client leaving; bytes that
  // arrive instead are the next request's and stop it.
  if (buffer_.size() == 0 && !read_pending_) read_some();

  const std::shared_ptr<ExchangeState> state = exchange_;
  state->connection = shared_from_this();
  const std::shared_ptr<HttpExchange> exchange =
      make_connection_exchange(state, options_.max_queued_bytes);
  try {
    core_->handler(std::move(request), exchange);
  } catch (const std::exception& e) {
    handler_failed(state, e.what());
  } catch (...) {
    handler_failed(state, "unknown exception");
  }
}

void HttpConnection::handler_failed(const std::shared_ptr<ExchangeState>& state,
                                    const std::string& what) {
  log_at(LogLevel::kError, "http: handler threw on ", exchange_method_, " ", exchange_path_, ": ",
         what);
  {
    std::lock_guard lock(state->mutex);
    if (!state->connection || state->phase != ExchangeState::Phase::kAwaiting) return;
    state->phase = ExchangeState::Phase::kResponded;
  }
  send_response(state, json_error_response(500, what, "server_error"));
}

void HttpConnection::read_some() {
  read_pending_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = shared_from_this()](error_code ec, size_t bytes) { self->on_read_some(ec, bytes); });
}

void HttpConnection::on_read_some(error_code ec, size_t bytes) {
  read_pending_ = false;
  if (phase_ == ReadPhase::kClosed) return;
  if (ec) {
    // EOF or reset: the client is gone (for a linger, it finally closed).
    if (phase_ == ReadPhase::kHandling) {
      log_at(LogLevel::kDebug, "http: ", remote_address_, " left during ", exchange_method_, " ",
             exchange_path_);
    }
    close_now();
    return;
  }
  buffer_.commit(bytes);
  switch (phase_) {
    case ReadPhase::kIdle: read_request(); break;
    case ReadPhase::kHandling: break;  // the next request waits in buffer_
    case ReadPhase::kClosing:
      buffer_.consume(buffer_.size());
      read_some();
      break;
    case ReadPhase::kHeader:
    case ReadPhase::kBody:
    case ReadPhase::kClosed: LM_CHECK(false && "raw read while the parser reads"); break;
  }
}

// ---------------------------------------------------------------------------
// The exchange's operations
// ---------------------------------------------------------------------------

void HttpConnection::post_response(std::shared_ptr<ExchangeState> state, HttpResponse response) {
  net::post(strand_, [self = shared_from_this(), state = std::move(state),
                      response = std::move(response)]() mutable {
    self->send_response(state, std::move(response));
  });
}

void HttpConnection::post_stream_start(std::shared_ptr<ExchangeState> state, int status,
                                       HttpHeaders headers) {
  net::post(strand_, [self = shared_from_this(), state = std::move(state), status,
                      headers = std::move(headers)]() mutable {
    self->send_stream_start(state, status, std::move(headers));
  });
}

void HttpConnection::post_chunk(std::shared_ptr<ExchangeState> state, std::string chunk) {
  net::post(strand_,
            [self = shared_from_this(), state = std::move(state),
             chunk = std::move(chunk)]() mutable { self->send_chunk(state, std::move(chunk)); });
}

void HttpConnection::post_finish(std::shared_ptr<ExchangeState> state) {
  net::post(strand_,
            [self = shared_from_this(), state = std::move(state)] { self->send_finish(state); });
}

void HttpConnection::post_dropped(std::shared_ptr<ExchangeState> state,
                                  ExchangeState::Phase phase) {
  net::post(strand_, [self = shared_from_this(), state = std::move(state), phase] {
    self->on_dropped(state, phase);
  });
}

void HttpConnection::send_response(const std::shared_ptr<ExchangeState>& state,
                                   HttpResponse response) {
  if (state != exchange_) return;
  const std::string* connection = response.headers.find("Connection");
  if (connection != nullptr && equals_ignore_case(*connection, "close")) keep_alive_ = false;
  const bool has_body = !is_bodiless_status(response.status);
  ResponseHead head;
  head.status = response.status;
  head.headers = &response.headers;
  head.content_type = response.content_type;
  head.framing = has_body ? BodyFraming::kContentLength : BodyFraming::kNone;
  head.content_length = static_cast<int64_t>(response.body.size());
  head.connection = connection_field();
  std::string bytes = format_response_head(head);
  if (has_body && !exchange_is_head_) bytes += response.body;
  enqueue({std::move(bytes), nullptr, 0, AfterWrite::kEndExchange});
}

void HttpConnection::send_stream_start(const std::shared_ptr<ExchangeState>& state, int status,
                                       HttpHeaders headers) {
  if (state != exchange_) return;
  // HTTP/1.0 has no chunked encoding: the body ends where the connection does.
  stream_chunked_ = exchange_version_ >= 11;
  if (!stream_chunked_) keep_alive_ = false;
  ResponseHead head;
  head.status = status;
  head.headers = &headers;
  head.content_type = kSseContentType;
  head.framing = stream_chunked_ ? BodyFraming::kChunked : BodyFraming::kUntilClose;
  head.connection = connection_field();
  enqueue({format_response_head(head), nullptr, 0, AfterWrite::kNothing});
}

void HttpConnection::send_chunk(const std::shared_ptr<ExchangeState>& state, std::string chunk) {
  const int64_t counted = static_cast<int64_t>(chunk.size());
  if (state != exchange_ || exchange_is_head_) {
    std::lock_guard lock(state->mutex);
    state->queued_bytes -= counted;
    return;
  }
  std::string bytes = stream_chunked_ ? format_chunk(chunk) : std::move(chunk);
  enqueue({std::move(bytes), state, counted, AfterWrite::kNothing});
}

void HttpConnection::send_finish(const std::shared_ptr<ExchangeState>& state) {
  if (state != exchange_) return;
  const bool terminate = stream_chunked_ && !exchange_is_head_;
  enqueue({terminate ? std::string(kLastChunk) : "", nullptr, 0, AfterWrite::kEndExchange});
}

void HttpConnection::on_dropped(const std::shared_ptr<ExchangeState>& state,
                                ExchangeState::Phase phase) {
  if (state != exchange_) return;
  if (phase == ExchangeState::Phase::kAwaiting) {
    log_at(LogLevel::kError, "http: ", exchange_method_, " ", exchange_path_,
           " dropped without a response");
    send_response(state, json_error_response(500, "the request was dropped without a response",
                                             "server_error"));
  } else {
    log_at(LogLevel::kError, "http: ", exchange_method_, " ", exchange_path_,
           " dropped with its stream unfinished; closing the connection");
    close_now();
  }
}

void HttpConnection::send_error_and_close(int status, std::string_view message) {
  keep_alive_ = false;
  HttpResponse response = json_error_response(
      status, message, status >= 500 ? "server_error" : "invalid_request_error");
  ResponseHead head;
  head.status = status;
  head.content_type = response.content_type;
  head.content_length = static_cast<int64_t>(response.body.size());
  head.connection = ConnectionField::kClose;
  std::string bytes = format_response_head(head) + response.body;
  phase_ = ReadPhase::kHandling;  // nothing more is read until the close
  enqueue({std::move(bytes), nullptr, 0, AfterWrite::kClose});
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

ConnectionField HttpConnection::connection_field() const {
  if (!keep_alive_) return ConnectionField::kClose;
  return exchange_version_ < 11 ? ConnectionField::kKeepAlive : ConnectionField::kOmit;
}

void HttpConnection::enqueue(OutItem item) {
  if (phase_ == ReadPhase::kClosed) return;
  out_.push_back(std::move(item));
  flush();
}

void HttpConnection::flush() {
  if (num_writing_ > 0 || out_.empty() || phase_ == ReadPhase::kClosed) return;
  std::vector<net::const_buffer> buffers;
  num_writing_ = std::min(out_.size(), kMaxItemsPerWrite);
  buffers.reserve(num_writing_);
  for (size_t i = 0; i < num_writing_; ++i) buffers.push_back(net::buffer(out_[i].bytes));

  const uint64_t generation = ++write_timer_generation_;
  write_timer_.expires_after(options_.write_timeout);
  write_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || generation != self->write_timer_generation_) return;
    log_at(LogLevel::kDebug, "http: ", self->remote_address_, " stopped reading; closing");
    self->close_now();
  });
  // The deque keeps its elements in place while more are pushed behind them.
  net::async_write(socket_, buffers,
                   [self = shared_from_this(), n = num_writing_](error_code ec, size_t /*bytes*/) {
                     self->on_write(ec, n);
                   });
}

void HttpConnection::on_write(error_code ec, size_t num_items) {
  if (phase_ == ReadPhase::kClosed) return;
  ++write_timer_generation_;
  write_timer_.cancel();
  num_writing_ = 0;
  if (ec) {
    close_now();
    return;
  }
  AfterWrite after = AfterWrite::kNothing;
  for (size_t i = 0; i < num_items; ++i) {
    OutItem& item = out_.front();
    if (item.owner) {
      std::lock_guard lock(item.owner->mutex);
      item.owner->queued_bytes -= item.counted_bytes;
    }
    if (item.after != AfterWrite::kNothing) after = item.after;
    out_.pop_front();
  }
  if (after == AfterWrite::kClose) {
    close_gracefully();
  } else if (after == AfterWrite::kEndExchange) {
    end_exchange();
  }
  flush();
}

// The response is on the wire: serve the next request, or close.
void HttpConnection::end_exchange() {
  LM_CHECK(exchange_ != nullptr);
  std::function<void()> unused_callback;  // destroyed outside the lock
  {
    std::lock_guard lock(exchange_->mutex);
    unused_callback = exchange_->end_locked();
  }
  exchange_.reset();
  stream_chunked_ = false;
  if (!keep_alive_ || shutting_down_) {
    close_gracefully();
    return;
  }
  phase_ = ReadPhase::kIdle;
  if (buffer_.size() > 0) {
    read_request();
    return;
  }
  arm_read_timer(options_.idle_timeout);
  if (!read_pending_) read_some();
}

}  // namespace localmoe
