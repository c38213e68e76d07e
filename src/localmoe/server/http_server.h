#pragma once
// The HTTP/1.1 transport: asynchronous connections on a few io threads,
// keep-alive, bounded requests and timeouts, every complete request handed to
// one HttpHandler. It knows no routes; see docs/server.md for the design.
// Boost.Beast and Asio stay behind the pimpl, out of every includer's build.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "localmoe/server/http_exchange.h"

namespace localmoe {

// How the transport listens and what it tolerates from clients.
struct HttpServerOptions {
  // Address to listen on: an IPv4 / IPv6 literal or a host name.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one, reported by HttpServer::port().
  int port = 8000;
  // Io threads running every connection; handlers run on them too.
  int num_threads = 2;
  // Largest request body; a larger one gets 413 before it is read.
  int64_t max_body_bytes = int64_t{16} << 20;
  // Largest request line plus headers; a larger one gets 431.
  int64_t max_header_bytes = int64_t{64} << 10;
  // Time allowed for a whole request header, from the connection's accept or
  // the next request's first byte: a slow or stalled client is cut then.
  std::chrono::milliseconds header_timeout{10'000};
  // Longest silence while a request body arrives.
  std::chrono::milliseconds body_timeout{30'000};
  // Longest wait for the next request on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  // Longest a write may wait for the client to take bytes; a client that
  // stopped reading (or vanished) is cut then.
  std::chrono::milliseconds write_timeout{30'000};
  // Open connections served at once; beyond it a new one gets 503 and is
  // closed (and beyond twice it, is closed unanswered).
  int64_t max_connections = 1024;
  // Per exchange: bytes of a stream written by the route but not yet taken
  // by the client; past it the connection is closed (backpressure).
  int64_t max_queued_bytes = int64_t{8} << 20;
  // What stop() grants exchanges in progress before it cuts them.
  std::chrono::milliseconds shutdown_timeout{5'000};
};

// Listens on host:port and serves until stopped. Not copyable or movable.
class HttpServer {
 public:
  // Throws Error(kInvalidArgument) naming the option for a value out of range.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads; once only. Throws Error(kIo)
  // when the address cannot be resolved or bound.
  void start();

  // Closes the listener, lets exchanges in progress finish for up to
  // shutdown_timeout, cuts the rest (their on_close callbacks run) and joins
  // the io threads. Idempotent; must not be called from a handler.
  void stop();

  // The bound port (the chosen one when options.port is 0); 0 before start().
  int port() const;

  // Connections open now, for statistics and tests.
  int64_t num_connections() const;

  const HttpServerOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace localmoe
