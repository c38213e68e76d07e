#pragma once
// The one place where errors become OpenAI's error responses: an HTTP
// status and the {"error": {"message", "type", "param", "code"}} body that
// the SDKs parse.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"

namespace localmoe {

struct OpenAiError {
  int status = 500;
  std::string type = "server_error";  // invalid_request_error, server_error, ...
  std::string message;
  std::optional<std::string> code;  // model_not_found, unsupported, ...
};

// Bad input (invalid argument) and unserved features answer 400, a missing
// model or file 404 (both "invalid_request_error", as OpenAI types them);
// an I/O failure or a corrupt file on the server's side answers 500.
OpenAiError openai_error(const Error& error);

nlohmann::json openai_error_body(const OpenAiError& error);

}  // namespace localmoe
