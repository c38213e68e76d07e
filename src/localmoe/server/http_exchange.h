#pragma once
// The seam between the HTTP transport and the routes. A handler runs on an
// io thread and must return at once; it answers through an HttpExchange,
// which it may keep and use from any thread (an engine's output stream, a
// timer) long after it returned. The transport never blocks on a route and a
// route never waits for the socket.

#include <functional>
#include <memory>
#include <string>

#include "localmoe/server/http_types.h"

namespace localmoe {

// One request's answer channel. Thread-safe; every call returns without
// waiting for the network. Exactly one of
//   respond(response)                       a complete response, or
//   start_stream(..), write(..)*, finish()  a streamed one (chunked transfer
//                                           encoding on HTTP/1.1, the body
//                                           until close on HTTP/1.0)
// is expected. Bytes are written in call order. Once the client is gone
// (disconnect, reset, timeout, or a stream that outgrew its write queue), the
// exchange is closed: on_close's callback runs once and later calls are
// dropped. If the last reference goes away before a response was given, the
// client gets a 500; if it goes away with a stream unfinished, the connection
// is cut so the client sees a truncated body rather than a complete one.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  // Sends a complete response. Dropped if the exchange is closed or already
  // answered.
  virtual void respond(HttpResponse response) = 0;

  // Sends the status line and headers of a streamed response. The content
  // type defaults to text/event-stream when `headers` names none.
  virtual void start_stream(int status, HttpHeaders headers) = 0;

  // Queues one piece of a started stream; an empty piece is ignored. Returns
  // false if it was dropped (exchange closed, or no stream started). When the
  // bytes queued but not yet taken by the client pass
  // HttpServerOptions::max_queued_bytes, the connection is closed instead:
  // a client that stops reading cannot grow server memory.
  virtual bool write(std::string chunk) = 0;

  // Ends a started stream; the connection then serves its next request.
  virtual void finish() = 0;

  // Whether the client went away before the response was complete.
  virtual bool is_closed() const = 0;

  // Sets the callback run once when the client goes away before the response
  // is complete (at once, on this thread, if it already has). It runs on an
  // io thread and must not block: a route aborts its engine request there.
  // A later call replaces an earlier callback.
  virtual void on_close(std::function<void()> callback) = 0;
};

// Called on an io thread for every request that was read completely,
// whatever its method and path. It must not block; an exception it throws
// is logged and answered with a 500.
using HttpHandler = std::function<void(HttpRequest request, std::shared_ptr<HttpExchange>)>;

}  // namespace localmoe
