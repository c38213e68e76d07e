#pragma once
// The plain HTTP messages the transport hands to handlers and takes back:
// no socket, no Boost, so routes and their tests build them by hand.

#include <string>
#include <string_view>
#include <vector>

namespace localmoe {

// Header fields in arrival order. Names compare case-insensitively (RFC 9110
// 5.1); a name may repeat, and find() returns its first value.
class HttpHeaders {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  // Appends a field, keeping any earlier one of the same name.
  void add(std::string name, std::string value);
  // Replaces every field of that name by one.
  void set(std::string name, std::string value);
  // The first value of `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  // The first value of `name`, or `fallback`.
  std::string get(std::string_view name, std::string_view fallback = {}) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// ASCII case-insensitive equality, for header names and tokens.
bool equals_ignore_case(std::string_view a, std::string_view b);

// One complete request as read from a connection, body included.
struct HttpRequest {
  std::string method;  // as sent, e.g. "GET", "POST"
  std::string path;    // the target before '?', e.g. "/v1/completions"
  std::string query;   // the target after '?', without it; empty if none
  int version = 11;    // 10 for HTTP/1.0, 11 for HTTP/1.1
  HttpHeaders headers;
  std::string body;            // raw bytes, binary-safe
  std::string remote_address;  // the peer, "127.0.0.1:50412" or "[::1]:50412"
};

// A complete response. The transport adds Content-Length, Date and
// Connection; a Content-Type header in `headers` takes precedence over
// `content_type`.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;
  std::string body;
};

// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view http_status_reason(int status);

// A JSON error response in the OpenAI envelope:
// {"error":{"message":...,"type":...}}.
HttpResponse json_error_response(int status, std::string_view message, std::string_view type);

}  // namespace localmoe
