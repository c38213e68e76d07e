#include "localmoe/server/http_wire.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

bool is_transport_field(std::string_view name) {
  return equals_ignore_case(name, "Content-Length") ||
         equals_ignore_case(name, "Transfer-Encoding") || equals_ignore_case(name, "Connection") ||
         equals_ignore_case(name, "Date");
}

void append_sanitized(std::string& out, std::string_view text) {
  for (char c : text) out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  append_sanitized(out, name);
  out += ": ";
  append_sanitized(out, value);
  out += "\r\n";
}

std::string http_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 64> text{};
  const size_t n = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return {text.data(), n};
}

}  // namespace

bool is_bodiless_status(int status) {
  return status < 200 || status == 204 || status == 304;
}

std::string format_response_head(const ResponseHead& head) {
  std::string out = "HTTP/1.1 " + std::to_string(head.status) + " ";
  out += http_status_reason(head.status);
  out += "\r\n";
  append_field(out, "Date", http_date_now());
  bool has_content_type = false;
  if (head.headers != nullptr) {
    for (const HttpHeaders::Field& field : *head.headers) {
      if (is_transport_field(field.name)) continue;
      has_content_type = has_content_type || equals_ignore_case(field.name, "Content-Type");
      append_field(out, field.name, field.value);
    }
  }
  if (head.framing != BodyFraming::kNone && !has_content_type && !head.content_type.empty()) {
    append_field(out, "Content-Type", head.content_type);
  }
  switch (head.framing) {
    case BodyFraming::kNone:
    case BodyFraming::kUntilClose: break;
    case BodyFraming::kContentLength:
      append_field(out, "Content-Length", std::to_string(head.content_length));
      break;
    case BodyFraming::kChunked: append_field(out, "Transfer-Encoding", "chunked"); break;
  }
  switch (head.connection) {
    case ConnectionField::kOmit: break;
    case ConnectionField::kKeepAlive: append_field(out, "Connection", "keep-alive"); break;
    case ConnectionField::kClose: append_field(out, "Connection", "close"); break;
  }
  out += "\r\n";
  return out;
}

std::string format_chunk(std::string_view data) {
  LM_DCHECK(!data.empty());
  std::array<char, 24> size_line{};
  const int n = std::snprintf(size_line.data(), size_line.size(), "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + data.size() + 2);
  out.append(size_line.data(), static_cast<size_t>(n));
  out += data;
  out += "\r\n";
  return out;
}

}  // namespace localmoe
