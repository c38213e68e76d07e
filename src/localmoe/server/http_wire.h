#pragma once
// The bytes of an HTTP/1.1 response as the transport writes them: the status
// line and header block, and the chunks of a chunked body. Plain strings, no
// socket, so the framing is tested by itself.

#include <cstdint>
#include <string>
#include <string_view>

#include "localmoe/server/http_types.h"

namespace localmoe {

// How the body after a head is delimited.
enum class BodyFraming {
  kNone,           // no body at all (1xx, 204, 304)
  kContentLength,  // Content-Length: content_length
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // the body ends with the connection (HTTP/1.0 streams)
};

// What the head says about the connection.
enum class ConnectionField {
  kOmit,       // HTTP/1.1 keep-alive, the default
  kKeepAlive,  // an HTTP/1.0 client asked to keep it
  kClose,
};

struct ResponseHead {
  int status = 200;
  const HttpHeaders* headers = nullptr;  // the handler's; may be null
  // Written unless `headers` has a Content-Type or the status has no body.
  std::string_view content_type;
  BodyFraming framing = BodyFraming::kContentLength;
  int64_t content_length = 0;  // for kContentLength
  ConnectionField connection = ConnectionField::kOmit;
};

// Whether a status never carries a body (RFC 9110 6.4.1).
bool is_bodiless_status(int status);

// "HTTP/1.1 <status> <reason>", Date, the handler's fields, then the
// transport's framing fields and a blank line. The handler's Content-Length,
// Transfer-Encoding, Connection and Date fields are left out (the transport
// owns them), and CR, LF or NUL in a name or value become spaces, so a value
// quoting client input cannot end the header early.
std::string format_response_head(const ResponseHead& head);

// One chunk of a chunked body: hex size, CRLF, the data, CRLF. `data` must
// not be empty (an empty chunk ends the body).
std::string format_chunk(std::string_view data);

// The last chunk of a chunked body, with no trailer fields.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace localmoe
