// The HTTP transport over real sockets on 127.0.0.1: a blocking POSIX client
// sends raw bytes and parses what comes back, so every framing detail
// (chunks, Connection, Content-Length) is checked as a client sees it.

#include "localmoe/server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "localmoe/base/error.h"
#include "localmoe/server/http_wire.h"
#include "localmoe/server/sse.h"

namespace localmoe {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// A blocking client: raw bytes out, one response at a time back.
// ---------------------------------------------------------------------------

struct ClientResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::vector<std::string> chunks;  // the pieces of a chunked body, in order
};

class TestClient {
 public:
  explicit TestClient(int port, milliseconds timeout = milliseconds(5000)) : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect() failed: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Closes with a reset instead of a FIN (SO_LINGER 0).
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close();
  }

  // Sends everything; false if the server closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads the next response; nullopt if the connection ends before one is
  // complete or the timeout passes. `on_chunk` sees each chunk as it comes.
  std::optional<ClientResponse> read_response(
      const std::function<void(const std::string&)>& on_chunk = nullptr) {
    std::optional<ClientResponse> head = read_head();
    if (!head) return std::nullopt;
    ClientResponse& response = *head;
    if (response.status == 100) return response;
    if (equals_ignore_case(response.headers.get("Transfer-Encoding"), "chunked")) {
      for (;;) {
        const std::optional<std::string> size_line = read_until("\r\n");
        if (!size_line) return std::nullopt;
        const size_t size = std::stoul(*size_line, nullptr, 16);
        const std::optional<std::string> data = read_exactly(size + 2);
        if (!data) return std::nullopt;
        if (size == 0) break;
        std::string chunk = data->substr(0, size);
        if (on_chunk) on_chunk(chunk);
        response.body += chunk;
        response.chunks.push_back(std::move(chunk));
      }
    } else if (response.headers.contains("Content-Length")) {
      const std::optional<std::string> data =
          read_exactly(std::stoul(response.headers.get("Content-Length")));
      if (!data) return std::nullopt;
      response.body = *data;
    } else {
      while (fill() > 0) {
      }
      response.body = std::exchange(pending_, {});
    }
    return head;
  }

  // Reads a status line and headers only (a HEAD response, or before the body).
  std::optional<ClientResponse> read_head() {
    ClientResponse response;
    const std::optional<std::string> head = read_until("\r\n\r\n");
    if (!head) return std::nullopt;
    size_t line_end = head->find("\r\n");
    const std::string status_line = head->substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end + 2;
    while (pos < head->size() - 4) {
      const size_t end = head->find("\r\n", pos);
      const std::string line = head->substr(pos, end - pos);
      const size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers.add(line.substr(0, colon), value);
      pos = end + 2;
    }
    return response;
  }

  // Whether the server closes the connection (EOF or reset) within the
  // client's timeout, with no bytes before it.
  bool closed_by_server() {
    if (!pending_.empty()) return false;
    return fill() <= 0 && pending_.empty();
  }

 private:
  // Reads more into pending_: >0 bytes read, 0 on EOF, <0 on error / timeout.
  ssize_t fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return -1;
    char data[16384];
    const ssize_t n = ::recv(fd_, data, sizeof(data), 0);
    if (n > 0) pending_.append(data, static_cast<size_t>(n));
    return n;
  }

  std::optional<std::string> read_until(std::string_view delimiter) {
    for (;;) {
      const size_t at = pending_.find(delimiter);
      if (at != std::string::npos) {
        std::string out = pending_.substr(0, at + delimiter.size());
        pending_.erase(0, at + delimiter.size());
        return out;
      }
      if (fill() <= 0) return std::nullopt;
    }
  }

  std::optional<std::string> read_exactly(size_t n) {
    while (pending_.size() < n) {
      if (fill() <= 0) return std::nullopt;
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
  }

  int fd_ = -1;
  milliseconds timeout_;
  std::string pending_;
};

std::string get_request(std::string_view path, std::string_view extra_headers = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

std::string post_request(std::string_view path, std::string_view body,
                         std::string_view extra_headers = "") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// Options with short timeouts, so a test of them takes a fraction of a second.
HttpServerOptions test_options() {
  HttpServerOptions options;
  options.port = 0;
  options.num_threads = 2;
  options.shutdown_timeout = milliseconds(500);
  return options;
}

// Echoes the request: method, path, query and body, plus a few headers.
void echo_handler(HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.headers.add("X-Method", request.method);
  response.headers.add("X-Path", request.path);
  response.headers.add("X-Query", request.query);
  response.headers.add("X-Version", std::to_string(request.version));
  response.headers.add("X-Custom", request.headers.get("x-CUSTOM-header", "<none>"));
  response.headers.add("X-Remote", request.remote_address);
  response.body = request.body;
  exchange->respond(std::move(response));
}

// ---------------------------------------------------------------------------
// Round trips and keep-alive
// ---------------------------------------------------------------------------

TEST(HttpServer, GetRoundTripWithQueryAndCaseInsensitiveHeaders) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  ASSERT_GT(server.port(), 0);
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/v1/models?limit=2&x=y", "X-Custom-Header: hello\r\n")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.get("x-method"), "GET");
  EXPECT_EQ(response->headers.get("X-PATH"), "/v1/models");
  EXPECT_EQ(response->headers.get("X-Query"), "limit=2&x=y");
  EXPECT_EQ(response->headers.get("X-Version"), "11");
  EXPECT_EQ(response->headers.get("X-Custom"), "hello");
  EXPECT_EQ(response->headers.get("X-Remote").rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(response->headers.get("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(response->headers.contains("Date"));
  EXPECT_EQ(response->body, "");
}

TEST(HttpServer, PostBodyIsBinarySafe) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  std::string body;
  for (int i = 0; i < 300000; ++i) body += static_cast<char>((i * 131) & 0xff);  // has NULs
  TestClient client(server.port());
  ASSERT_TRUE(client.send(post_request("/echo", body)));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.get("X-Method"), "POST");
  EXPECT_EQ(response->body.size(), body.size());
  EXPECT_TRUE(response->body == body);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  TestClient client(server.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.send(post_request("/n", "request " + std::to_string(i))));
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value()) << "request " << i;
    EXPECT_EQ(response->body, "request " + std::to_string(i));
    EXPECT_FALSE(response->headers.contains("Connection"));
  }
  // Two requests sent back to back (pipelined) are answered in order.
  ASSERT_TRUE(client.send(post_request("/a", "first") + post_request("/b", "second")));
  EXPECT_EQ(client.read_response().value().body, "first");
  EXPECT_EQ(client.read_response().value().body, "second");
  EXPECT_EQ(server.num_connections(), 1);
}

TEST(HttpServer, ConnectionCloseClosesAfterTheResponse) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(post_request("/x", "bye", "Connection: close\r\n")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "bye");
  EXPECT_EQ(response->headers.get("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveIsAsked) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  {
    TestClient client(server.port());
    ASSERT_TRUE(client.send("GET /old HTTP/1.0\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->headers.get("X-Version"), "10");
    EXPECT_TRUE(client.closed_by_server());
  }
  TestClient client(server.port());
  ASSERT_TRUE(client.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->headers.get("Connection"), "keep-alive");
  ASSERT_TRUE(client.send("GET /again HTTP/1.0\r\n\r\n"));
  response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->headers.get("X-Path"), "/again");
}

TEST(HttpServer, HeadGetsTheHeadersWithoutTheBody) {
  HttpServer server(test_options(), [](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    HttpResponse response;
    response.body = "twelve bytes";
    exchange->respond(std::move(response));
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The client reads the head only; a body would be parsed as the next
  // response's status line and fail it.
  const std::optional<ClientResponse> head = client.read_head();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->headers.get("Content-Length"), "12");
  ASSERT_TRUE(client.send(get_request("/")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "twelve bytes");
}

TEST(HttpServer, HandlerAskingConnectionCloseIsHonoured) {
  HttpServer server(test_options(), [](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    HttpResponse response;
    response.headers.add("Connection", "close");
    exchange->respond(std::move(response));
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->headers.get("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServer, ExpectContinueGetsA100BeforeTheBody) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const auto interim = client.read_response();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send("hello"));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello");
}

// ---------------------------------------------------------------------------
// Limits and malformed input
// ---------------------------------------------------------------------------

TEST(HttpServer, ContentLengthOverTheLimitGets413BeforeTheBodyIsSent) {
  HttpServerOptions options = test_options();
  options.max_body_bytes = 1000;
  std::atomic<int> calls{0};
  HttpServer server(options, [&](HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
    ++calls;
    echo_handler(std::move(request), std::move(exchange));
  });
  server.start();
  TestClient client(server.port());
  // Headers only: the 413 must come without the server waiting for the body.
  ASSERT_TRUE(client.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->headers.get("Connection"), "close");
  EXPECT_EQ(response->body, R"({"error":{"message":"request body larger than 1000 bytes",)"
                            R"("type":"invalid_request_error"}})");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(calls.load(), 0);

  // At the limit exactly, it is served.
  TestClient at_limit(server.port());
  ASSERT_TRUE(at_limit.send(post_request("/ok", std::string(1000, 'a'))));
  EXPECT_EQ(at_limit.read_response().value().status, 200);
}

TEST(HttpServer, ChunkedBodyPassingTheLimitGets413) {
  HttpServerOptions options = test_options();
  options.max_body_bytes = 1000;
  HttpServer server(options, echo_handler);
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(client.send("258\r\n" + std::string(600, 'a') + "\r\n"));
  ASSERT_TRUE(client.send("258\r\n" + std::string(600, 'b') + "\r\n"));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.closed_by_server());

  // A chunked body within the limit arrives whole.
  TestClient small(server.port());
  ASSERT_TRUE(
      small.send("POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  EXPECT_EQ(small.read_response().value().body, "abcde");
}

TEST(HttpServer, HeaderOverTheLimitGets431) {
  HttpServerOptions options = test_options();
  options.max_header_bytes = 2048;
  HttpServer server(options, echo_handler);
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/", "X-Big: " + std::string(4096, 'x') + "\r\n")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
}

TEST(HttpServer, MalformedRequestLineGets400AndTheServerGoesOn) {
  HttpServer server(test_options(), echo_handler);
  server.start();
  {
    TestClient client(server.port());
    ASSERT_TRUE(client.send("THIS IS NOT HTTP\r\n\r\n"));
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(client.closed_by_server());
  }
  {
    TestClient client(server.port());
    ASSERT_TRUE(client.send("GET /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n"));
    EXPECT_EQ(client.read_response().value().status, 400);
  }
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/fine")));
  EXPECT_EQ(client.read_response().value().status, 200);
}

TEST(HttpServer, ConnectionsBeyondTheMaximumGet503) {
  HttpServerOptions options = test_options();
  options.max_connections = 2;
  HttpServer server(options, echo_handler);
  server.start();
  TestClient first(server.port());
  TestClient second(server.port());
  ASSERT_TRUE(first.send(get_request("/1")));
  ASSERT_TRUE(second.send(get_request("/2")));
  EXPECT_EQ(first.read_response().value().status, 200);
  EXPECT_EQ(second.read_response().value().status, 200);
  TestClient third(server.port());
  ASSERT_TRUE(third.send(get_request("/3")));
  const auto response = third.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body,
            R"({"error":{"message":"too many connections","type":"server_error"}})");
  EXPECT_TRUE(third.closed_by_server());
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

TEST(HttpServer, StalledHeaderIsCutWhileOthersAreServed) {
  HttpServerOptions options = test_options();
  options.num_threads = 1;  // a blocked worker would show at once
  options.header_timeout = milliseconds(300);
  HttpServer server(options, echo_handler);
  server.start();
  const auto start = Clock::now();
  TestClient slow(server.port());
  ASSERT_TRUE(slow.send("GET /slo"));  // half a request line, then nothing

  const auto served_at = Clock::now();
  TestClient other(server.port());
  ASSERT_TRUE(other.send(get_request("/quick")));
  EXPECT_EQ(other.read_response().value().status, 200);
  EXPECT_LT(seconds_since(served_at), 0.2);

  EXPECT_TRUE(slow.closed_by_server());
  const double closed_after = seconds_since(start);
  EXPECT_GE(closed_after, 0.25);
  EXPECT_LT(closed_after, 2.0);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options = test_options();
  options.idle_timeout = milliseconds(300);
  HttpServer server(options, echo_handler);
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/")));
  ASSERT_TRUE(client.read_response().has_value());
  const auto start = Clock::now();
  EXPECT_TRUE(client.closed_by_server());
  const double closed_after = seconds_since(start);
  EXPECT_GE(closed_after, 0.25);
  EXPECT_LT(closed_after, 2.0);
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

TEST(HttpServer, BurstOfAHundredConnectionsIsServed) {
  HttpServer server(test_options(), echo_handler);  // two io threads
  server.start();
  constexpr int kClients = 100;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(server.port()));
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->send(post_request("/burst", std::to_string(i))));
  }
  int num_ok = 0;
  for (int i = 0; i < kClients; ++i) {
    const auto response = clients[i]->read_response();
    ASSERT_TRUE(response.has_value()) << "client " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, std::to_string(i));
    num_ok += response->status == 200 ? 1 : 0;
  }
  EXPECT_EQ(num_ok, kClients);
}

TEST(HttpServer, HandlerThatThrowsGets500AndTheNextRequestSucceeds) {
  HttpServer server(test_options(), [](HttpRequest request, std::shared_ptr<HttpExchange> e) {
    if (request.path == "/throw") throw std::runtime_error("the route broke");
    echo_handler(std::move(request), std::move(e));
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/throw")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->headers.get("Content-Type"), "application/json");
  EXPECT_EQ(response->body, R"({"error":{"message":"the route broke","type":"server_error"}})");
  ASSERT_TRUE(client.send(get_request("/fine")));
  EXPECT_EQ(client.read_response().value().status, 200);
}

TEST(HttpServer, DeferredResponseFromAnotherThreadDoesNotBlockIoThreads) {
  HttpServerOptions options = test_options();
  options.num_threads = 1;
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  HttpServer server(options, [&](HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
    if (request.path != "/slow") {
      echo_handler(std::move(request), std::move(exchange));
      return;
    }
    std::lock_guard lock(workers_mutex);
    workers.emplace_back([exchange] {
      std::this_thread::sleep_for(milliseconds(200));
      HttpResponse response;
      response.body = "late";
      exchange->respond(std::move(response));
    });
  });
  server.start();
  const auto start = Clock::now();
  TestClient slow(server.port());
  ASSERT_TRUE(slow.send(get_request("/slow")));
  TestClient fast(server.port());
  ASSERT_TRUE(fast.send(get_request("/fast")));
  EXPECT_EQ(fast.read_response().value().status, 200);
  const double fast_after = seconds_since(start);
  const auto late = slow.read_response();
  const double slow_after = seconds_since(start);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->body, "late");
  EXPECT_LT(fast_after, 0.15);
  EXPECT_GE(slow_after, 0.19);
  for (std::thread& t : workers) t.join();
}

TEST(HttpServer, ExchangeDroppedWithoutResponseGets500) {
  HttpServer server(test_options(), [](HttpRequest, std::shared_ptr<HttpExchange>) {});
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/forgotten")));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_NE(response->body.find("\"server_error\""), std::string::npos);
  // The connection goes on.
  ASSERT_TRUE(client.send(get_request("/again")));
  EXPECT_EQ(client.read_response().value().status, 500);
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

TEST(HttpServer, StreamArrivesIncrementallyInOrderAndKeepsTheConnection) {
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  // Each event waits for the client to have read the previous one, so the
  // test fails if the transport held them back until finish().
  std::mutex seen_mutex;
  std::condition_variable seen_changed;
  int num_seen = 0;
  HttpServer server(test_options(), [&](HttpRequest request,
                                        std::shared_ptr<HttpExchange> exchange) {
    if (request.path != "/stream") {
      echo_handler(std::move(request), std::move(exchange));
      return;
    }
    std::lock_guard lock(workers_mutex);
    workers.emplace_back([&, exchange] {
      HttpHeaders headers;
      headers.add("Cache-Control", "no-cache");
      exchange->start_stream(200, headers);
      for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(milliseconds(10));
        EXPECT_TRUE(exchange->write(format_sse_event("{\"n\":" + std::to_string(i) + "}")));
        std::unique_lock seen_lock(seen_mutex);
        if (!seen_changed.wait_for(seen_lock, milliseconds(2000), [&] { return num_seen > i; })) {
          ADD_FAILURE() << "event " << i << " did not reach the client before the next write";
        }
      }
      exchange->write(format_sse_done());
      exchange->finish();
    });
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/stream")));
  const auto response = client.read_response([&](const std::string&) {
    std::lock_guard lock(seen_mutex);
    ++num_seen;
    seen_changed.notify_all();
  });
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.get("Content-Type"), "text/event-stream");
  EXPECT_EQ(response->headers.get("Cache-Control"), "no-cache");
  EXPECT_EQ(response->headers.get("Transfer-Encoding"), "chunked");
  ASSERT_EQ(response->chunks.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(response->chunks[i], "data: {\"n\":" + std::to_string(i) + "}\n\n");
  }
  EXPECT_EQ(response->chunks[5], "data: [DONE]\n\n");

  ASSERT_TRUE(client.send(post_request("/after", "still here")));
  EXPECT_EQ(client.read_response().value().body, "still here");
  for (std::thread& t : workers) t.join();
}

TEST(HttpServer, Http10StreamEndsWithTheConnection) {
  HttpServer server(test_options(), [](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    exchange->start_stream(200, {});
    exchange->write("one ");
    exchange->write("two");
    exchange->finish();
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send("GET /s HTTP/1.0\r\n\r\n"));
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_FALSE(response->headers.contains("Transfer-Encoding"));
  EXPECT_EQ(response->headers.get("Connection"), "close");
  EXPECT_EQ(response->body, "one two");
}

// A route's view of one streamed exchange: its handle and when on_close ran.
struct StreamProbe {
  std::mutex mutex;
  std::condition_variable changed;
  std::shared_ptr<HttpExchange> exchange;
  int num_closes = 0;
};

TEST(HttpServer, DisconnectMidStreamFiresOnCloseAndDropsLaterWrites) {
  auto probe = std::make_shared<StreamProbe>();
  HttpServer server(test_options(), [probe](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    exchange->on_close([probe] {
      std::lock_guard lock(probe->mutex);
      ++probe->num_closes;
      probe->changed.notify_all();
    });
    exchange->start_stream(200, {});
    exchange->write(format_sse_event("first"));
    std::lock_guard lock(probe->mutex);
    probe->exchange = exchange;
    probe->changed.notify_all();
  });
  server.start();
  for (bool with_reset : {false, true}) {
    {
      std::lock_guard lock(probe->mutex);
      probe->exchange.reset();
      probe->num_closes = 0;
    }
    TestClient client(server.port());
    ASSERT_TRUE(client.send(get_request("/stream")));
    std::shared_ptr<HttpExchange> exchange;
    {
      std::unique_lock lock(probe->mutex);
      ASSERT_TRUE(probe->changed.wait_for(lock, milliseconds(2000),
                                          [&] { return probe->exchange != nullptr; }));
      exchange = probe->exchange;
    }
    EXPECT_FALSE(exchange->is_closed());
    const auto start = Clock::now();
    with_reset ? client.reset() : client.close();
    {
      std::unique_lock lock(probe->mutex);
      EXPECT_TRUE(probe->changed.wait_for(lock, milliseconds(2000), [&] {
        return probe->num_closes > 0;
      })) << (with_reset ? "reset" : "close");
    }
    EXPECT_LT(seconds_since(start), 1.0);
    EXPECT_TRUE(exchange->is_closed());
    EXPECT_FALSE(exchange->write(format_sse_event("too late")));
    exchange->finish();
    // on_close ran once; one set after the close runs at once.
    bool late_callback_ran = false;
    exchange->on_close([&] { late_callback_ran = true; });
    EXPECT_TRUE(late_callback_ran);
    std::lock_guard lock(probe->mutex);
    EXPECT_EQ(probe->num_closes, 1);
  }
}

TEST(HttpServer, StreamToAClientThatStopsReadingIsClosedAtTheQueueBound) {
  HttpServerOptions options = test_options();
  options.max_queued_bytes = 1 << 20;
  auto probe = std::make_shared<StreamProbe>();
  std::atomic<int64_t> bytes_accepted{0};
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  HttpServer server(options, [&](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    exchange->on_close([probe] {
      std::lock_guard lock(probe->mutex);
      ++probe->num_closes;
      probe->changed.notify_all();
    });
    exchange->start_stream(200, {});
    std::lock_guard lock(workers_mutex);
    workers.emplace_back([exchange, &bytes_accepted] {
      const std::string piece(64 << 10, 'x');
      // The client reads nothing: the socket buffers fill, then the queue.
      for (int i = 0; i < 2000 && exchange->write(piece); ++i) bytes_accepted += piece.size();
    });
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/flood")));
  {
    std::unique_lock lock(probe->mutex);
    EXPECT_TRUE(
        probe->changed.wait_for(lock, milliseconds(5000), [&] { return probe->num_closes > 0; }));
  }
  std::lock_guard lock(workers_mutex);
  for (std::thread& t : workers) t.join();
  // Far less than the 125 MiB the route tried to write: the queue bound plus
  // what the kernel's socket buffers took (the route may outrun the strand,
  // so the bound can be reached before any byte is written).
  EXPECT_LT(bytes_accepted.load(), int64_t{64} << 20);
  EXPECT_GE(bytes_accepted.load(), options.max_queued_bytes - (64 << 10));
}

// ---------------------------------------------------------------------------
// Stop
// ---------------------------------------------------------------------------

TEST(HttpServer, StopWithOpenConnectionsReturnsWithinTheShutdownTimeout) {
  std::shared_ptr<HttpExchange> held;  // never answered: stop must cut it
  std::mutex held_mutex;
  std::atomic<bool> on_close_ran{false};
  auto server = std::make_unique<HttpServer>(
      test_options(), [&](HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
        if (request.path == "/hold") {
          exchange->on_close([&] { on_close_ran = true; });
          std::lock_guard lock(held_mutex);
          held = exchange;
          return;
        }
        echo_handler(std::move(request), std::move(exchange));
      });
  server->start();
  TestClient idle(server->port());
  ASSERT_TRUE(idle.send(get_request("/")));
  ASSERT_TRUE(idle.read_response().has_value());
  TestClient half(server->port());
  ASSERT_TRUE(half.send("GET /ha"));
  TestClient holding(server->port());
  ASSERT_TRUE(holding.send(get_request("/hold")));
  for (int i = 0; i < 200 && server->num_connections() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  for (int i = 0; i < 200; ++i) {
    std::lock_guard lock(held_mutex);
    if (held) break;
    std::this_thread::sleep_for(milliseconds(5));
  }

  const auto start = Clock::now();
  server->stop();
  const double stop_took = seconds_since(start);
  EXPECT_LT(stop_took, 2.0);  // shutdown_timeout is 500 ms
  EXPECT_TRUE(on_close_ran.load());
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(half.closed_by_server());
  EXPECT_TRUE(holding.closed_by_server());
  server.reset();
  // The exchange outlives the server: its calls are dropped, nothing crashes.
  held->respond(HttpResponse{});
  held.reset();
}

TEST(HttpServer, StopLetsAnExchangeInProgressFinish) {
  std::vector<std::thread> workers;  // one, started before `handled` is set
  std::promise<void> handled;
  HttpServer server(test_options(), [&](HttpRequest, std::shared_ptr<HttpExchange> exchange) {
    workers.emplace_back([exchange] {
      std::this_thread::sleep_for(milliseconds(100));
      HttpResponse response;
      response.body = "finished";
      exchange->respond(std::move(response));
    });
    handled.set_value();
  });
  server.start();
  TestClient client(server.port());
  ASSERT_TRUE(client.send(get_request("/")));
  ASSERT_EQ(handled.get_future().wait_for(milliseconds(2000)), std::future_status::ready);
  std::thread stopper([&] { server.stop(); });
  const auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "finished");
  EXPECT_EQ(response->headers.get("Connection"), "close");
  stopper.join();
  for (std::thread& t : workers) t.join();
}

TEST(HttpServer, BadOptionsAndBusyPortAreReported) {
  HttpServerOptions options = test_options();
  options.num_threads = 0;
  try {
    HttpServer server(options, echo_handler);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("num_threads"), std::string::npos) << e.what();
  }
  HttpServer first(test_options(), echo_handler);
  first.start();
  HttpServerOptions same_port = test_options();
  same_port.port = first.port();
  HttpServer second(same_port, echo_handler);
  try {
    second.start();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------
// SSE framing
// ---------------------------------------------------------------------------

TEST(HttpSse, EventsSplitLinesAndEndWithABlankLine) {
  EXPECT_EQ(format_sse_event("{\"a\":1}"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(format_sse_event("one\ntwo"), "data: one\ndata: two\n\n");
  EXPECT_EQ(format_sse_event("one\r\ntwo\rthree"), "data: one\ndata: two\ndata: three\n\n");
  EXPECT_EQ(format_sse_event("ends\n"), "data: ends\ndata: \n\n");
  EXPECT_EQ(format_sse_event(""), "data: \n\n");
  EXPECT_EQ(format_sse_done(), "data: [DONE]\n\n");
}

TEST(HttpTypes, HeadersAreCaseInsensitiveAndErrorBodiesAreJson) {
  HttpHeaders headers;
  headers.add("Content-Type", "text/plain");
  headers.add("X-Twice", "1");
  headers.add("x-twice", "2");
  EXPECT_EQ(headers.get("content-type"), "text/plain");
  EXPECT_EQ(headers.get("X-TWICE"), "1");
  EXPECT_EQ(headers.get("missing", "fallback"), "fallback");
  headers.set("X-TWICE", "3");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.get("x-twice"), "3");
  EXPECT_EQ(http_status_reason(404), "Not Found");
  EXPECT_EQ(http_status_reason(799), "Unknown");
  const HttpResponse error = json_error_response(400, "bad \"quote\"", "invalid_request_error");
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.body, R"({"error":{"message":"bad \"quote\"","type":"invalid_request_error"}})");
}

TEST(HttpWire, HeadsCarryTheTransportsFramingAndSanitizedFields) {
  HttpHeaders headers;
  headers.add("X-Echo", "evil\r\nSet-Cookie: x=1");
  headers.add("content-length", "999");  // the transport's, not the handler's
  headers.add("Connection", "upgrade");
  ResponseHead head;
  head.status = 201;
  head.headers = &headers;
  head.content_type = "application/json";
  head.content_length = 12;
  const std::string text = format_response_head(head);
  EXPECT_EQ(text.rfind("HTTP/1.1 201 Created\r\nDate: ", 0), 0u) << text;
  EXPECT_NE(text.find("\r\nX-Echo: evil  Set-Cookie: x=1\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\r\nSet-Cookie"), std::string::npos) << text;
  EXPECT_EQ(text.find("999"), std::string::npos) << text;
  EXPECT_EQ(text.find("upgrade"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nContent-Length: 12\r\n\r\n"), std::string::npos) << text;

  headers.add("Content-Type", "text/plain");
  head.framing = BodyFraming::kChunked;
  head.connection = ConnectionField::kClose;
  const std::string chunked = format_response_head(head);
  EXPECT_EQ(chunked.find("application/json"), std::string::npos) << chunked;
  EXPECT_NE(chunked.find("\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
            std::string::npos)
      << chunked;

  head.status = 204;
  head.headers = nullptr;
  head.framing = BodyFraming::kNone;
  head.connection = ConnectionField::kOmit;
  const std::string empty = format_response_head(head);
  EXPECT_EQ(empty.find("Content-"), std::string::npos) << empty;

  EXPECT_EQ(format_chunk("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(format_chunk(std::string(26, 'z')), "1a\r\n" + std::string(26, 'z') + "\r\n");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

}  // namespace
}  // namespace localmoe
