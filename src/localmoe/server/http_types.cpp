#include "localmoe/server/http_types.h"

#include <boost/beast/http/status.hpp>
#include <nlohmann/json.hpp>

namespace localmoe {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void HttpHeaders::add(std::string name, std::string value) {
  fields_.push_back({std::move(name), std::move(value)});
}

void HttpHeaders::set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const Field& f) { return equals_ignore_case(f.name, name); });
  add(std::move(name), std::move(value));
}

const std::string* HttpHeaders::find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (equals_ignore_case(f.name, name)) return &f.value;
  }
  return nullptr;
}

std::string HttpHeaders::get(std::string_view name, std::string_view fallback) const {
  const std::string* value = find(name);
  return value != nullptr ? *value : std::string(fallback);
}

std::string_view http_status_reason(int status) {
  namespace http = boost::beast::http;
  if (status < 100 || status > 999) return "Unknown";
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  if (reason.empty() || reason.front() == '<') return "Unknown";  // Beast's "<unknown-status>"
  return {reason.data(), reason.size()};
}

HttpResponse json_error_response(int status, std::string_view message, std::string_view type) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  nlohmann::json body = {{"error", {{"message", message}, {"type", type}}}};
  // Replacement, not an exception, for invalid UTF-8: the message may quote
  // the client's bytes.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace localmoe
