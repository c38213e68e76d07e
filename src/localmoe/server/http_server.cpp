#include "localmoe/server/http_server.h"

#include <exception>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "localmoe/base/error.h"
#include "localmoe/base/logging.h"
#include "localmoe/server/http_connection.h"

namespace localmoe {
namespace {

namespace net = boost::asio;
using boost::system::error_code;
using Tcp = net::ip::tcp;

// After a failed accept (out of file descriptors, say), the pause before the
// next try, so the listener does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

void check_options(const HttpServerOptions& o) {
  auto positive = [](const char* name, int64_t value) {
    if (value <= 0) {
      throw make_error(ErrorKind::kInvalidArgument, "http server: ", name,
                       " must be positive, got ", value);
    }
  };
  if (o.port < 0 || o.port > 65535) {
    throw make_error(ErrorKind::kInvalidArgument, "http server: port must be in [0, 65535], got ",
                     o.port);
  }
  positive("num_threads", o.num_threads);
  positive("max_body_bytes", o.max_body_bytes);
  positive("max_header_bytes", o.max_header_bytes);
  if (o.max_header_bytes > (int64_t{1} << 30)) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "http server: max_header_bytes must be at most 1 GiB, got ",
                     o.max_header_bytes);
  }
  positive("header_timeout (ms)", o.header_timeout.count());
  positive("body_timeout (ms)", o.body_timeout.count());
  positive("idle_timeout (ms)", o.idle_timeout.count());
  positive("write_timeout (ms)", o.write_timeout.count());
  positive("max_connections", o.max_connections);
  positive("max_queued_bytes", o.max_queued_bytes);
  if (o.shutdown_timeout.count() < 0) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "http server: shutdown_timeout must not be negative, got ",
                     o.shutdown_timeout.count(), " ms");
  }
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : core_(std::make_shared<HttpServerCore>(std::move(options), std::move(handler))),
        acceptor_(net::make_strand(core_->io)),
        retry_timer_(acceptor_.get_executor()),
        work_(net::make_work_guard(core_->io)) {}

  void start();
  void stop();
  int port() const { return port_; }
  int64_t num_connections() const {
    std::lock_guard lock(core_->mutex);
    return static_cast<int64_t>(core_->connections.size());
  }
  const HttpServerOptions& options() const { return core_->options; }

 private:
  void accept();
  void on_accept(error_code ec, Tcp::socket socket);
  void run_io_thread();
  std::vector<std::shared_ptr<HttpConnection>> open_connections();

  const std::shared_ptr<HttpServerCore> core_;
  Tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool refusing_ = false;  // over max_connections since the last warning (acceptor strand)
  bool started_ = false;
  bool stopped_ = false;
};

void HttpServer::Impl::start() {
  LM_CHECK(!started_ && "HttpServer::start() called twice");
  started_ = true;
  const HttpServerOptions& o = core_->options;
  const std::string where = "http server: " + o.host + ":" + std::to_string(o.port);
  error_code ec;
  Tcp::resolver resolver(core_->io);
  const auto endpoints = resolver.resolve(
      o.host, std::to_string(o.port), Tcp::resolver::passive | Tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    throw make_error(ErrorKind::kIo, "cannot resolve the address: ", ec.message())
        .with_context(where);
  }
  const Tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    throw make_error(ErrorKind::kIo, "cannot listen: ", ec.message()).with_context(where);
  }
  port_ = acceptor_.local_endpoint().port();

  accept();
  threads_.reserve(static_cast<size_t>(o.num_threads));
  for (int i = 0; i < o.num_threads; ++i) threads_.emplace_back([this] { run_io_thread(); });
  log_info("http: listening on ", o.host, ":", port_, " with ", o.num_threads, " io threads");
}

// Asio lets a handler's exception out of run(); ours catch their own, so one
// arriving here is a bug reported loudly, and the thread keeps serving.
void HttpServer::Impl::run_io_thread() {
  for (;;) {
    try {
      core_->io.run();
      return;
    } catch (const std::exception& e) {
      log_at(LogLevel::kError, "http: exception on an io thread: ", e.what());
    } catch (...) {
      log_at(LogLevel::kError, "http: non-exception thrown on an io thread");
    }
  }
}

void HttpServer::Impl::accept() {
  acceptor_.async_accept(net::make_strand(core_->io), [this](error_code ec, Tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void HttpServer::Impl::on_accept(error_code ec, Tcp::socket socket) {
  if (!acceptor_.is_open()) return;
  if (ec) {
    log_at(LogLevel::kWarn, "http: accept failed: ", ec.message());
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([this](error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) accept();
    });
    return;
  }
  bool serving = false;
  bool answer = false;
  uint64_t id = 0;
  {
    std::lock_guard lock(core_->mutex);
    const int64_t num_refusing =
        static_cast<int64_t>(core_->connections.size()) - core_->num_serving;
    serving = core_->num_serving < core_->options.max_connections;
    // Refusals are answered up to as many again; beyond, a flood is dropped
    // unanswered, so refusing costs bounded resources too.
    answer = !serving && num_refusing < core_->options.max_connections;
    id = core_->next_id++;
  }
  if (!serving) {
    if (!refusing_) {
      log_at(LogLevel::kWarn, "http: ", core_->options.max_connections,
             " connections open; refusing new ones with 503");
    }
    refusing_ = true;
    if (!answer) {
      error_code ignored;
      socket.close(ignored);
      accept();
      return;
    }
  } else {
    refusing_ = false;
  }
  auto connection = std::make_shared<HttpConnection>(core_, std::move(socket), id);
  if (core_->add(id, connection, serving)) {
    if (serving) {
      connection->start();
    } else {
      connection->reject(503, "too many connections");
    }
  }
  accept();
}

std::vector<std::shared_ptr<HttpConnection>> HttpServer::Impl::open_connections() {
  std::vector<std::shared_ptr<HttpConnection>> open;
  std::lock_guard lock(core_->mutex);
  for (const auto& [id, entry] : core_->connections) {
    if (auto connection = entry.connection.lock()) open.push_back(std::move(connection));
  }
  return open;
}

void HttpServer::Impl::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (const std::thread& t : threads_) {
    LM_CHECK(t.get_id() != std::this_thread::get_id() && "HttpServer::stop() from a handler");
  }
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
  }
  net::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  });
  for (const auto& connection : open_connections()) connection->begin_shutdown();
  {
    std::unique_lock lock(core_->mutex);
    core_->all_closed.wait_for(lock, core_->options.shutdown_timeout,
                               [&] { return core_->connections.empty(); });
  }
  for (const auto& connection : open_connections()) connection->abort();
  // Without the guard, run() returns once every socket and timer is closed.
  work_.reset();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  log_info("http: stopped");
}

// ---------------------------------------------------------------------------

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) {
  check_options(options);
  LM_CHECK(handler != nullptr);
  impl_ = std::make_unique<Impl>(std::move(options), std::move(handler));
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  impl_->start();
}
void HttpServer::stop() {
  impl_->stop();
}
int HttpServer::port() const {
  return impl_->port();
}
int64_t HttpServer::num_connections() const {
  return impl_->num_connections();
}
const HttpServerOptions& HttpServer::options() const {
  return impl_->options();
}

}  // namespace localmoe
