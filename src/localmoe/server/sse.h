#pragma once
// Server-Sent Events framing (the text/event-stream format of the HTML
// standard) for streamed completions: one event per delta, then the
// terminator OpenAI's clients wait for.

#include <string>
#include <string_view>

namespace localmoe {

// The content type of an SSE body.
inline constexpr std::string_view kSseContentType = "text/event-stream";

// One event carrying `data`: "data: <line>\n" per line of it, then a blank
// line. A payload with line breaks (LF, CRLF or CR) becomes several data
// lines, which the client joins back with LF; an empty payload is one empty
// data line, still delivered as an event.
std::string format_sse_event(std::string_view data);

// The terminating event of an OpenAI stream: "data: [DONE]\n\n".
std::string format_sse_done();

}  // namespace localmoe
