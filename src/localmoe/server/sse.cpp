#include "localmoe/server/sse.h"

namespace localmoe {

std::string format_sse_event(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 8);
  out += "data: ";
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      // CRLF is one line break, not two.
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      out += "\ndata: ";
    } else {
      out += c;
    }
  }
  out += "\n\n";
  return out;
}

std::string format_sse_done() {
  return format_sse_event("[DONE]");
}

}  // namespace localmoe
