#include "localmoe/server/openai_error.h"

namespace localmoe {

OpenAiError openai_error(const Error& error) {
  OpenAiError out;
  out.message = error.what();
  switch (error.kind()) {
    case ErrorKind::kInvalidArgument:
      out.status = 400;
      out.type = "invalid_request_error";
      break;
    case ErrorKind::kUnsupported:
      out.status = 400;
      out.type = "invalid_request_error";
      out.code = "unsupported";
      break;
    case ErrorKind::kNotFound:
      out.status = 404;
      out.type = "invalid_request_error";
      out.code = "not_found";
      break;
    case ErrorKind::kIo:
    case ErrorKind::kCorrupt:
      out.status = 500;
      out.type = "server_error";
      break;
  }
  return out;
}

nlohmann::json openai_error_body(const OpenAiError& error) {
  nlohmann::json code = nullptr;
  if (error.code.has_value()) code = *error.code;
  return {{"error",
           {{"message", error.message}, {"type", error.type}, {"param", nullptr}, {"code", code}}}};
}

}  // namespace localmoe
