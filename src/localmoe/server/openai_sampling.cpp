#include "localmoe/server/openai_sampling.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

using nlohmann::json;

std::string_view type_name(const json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return "null";
}

[[noreturn]] void wrong_type(std::string_view field, std::string_view expected, const json& value) {
  throw make_error(ErrorKind::kInvalidArgument, "'", field, "' must be ", expected, ", got ",
                   type_name(value), " (", value.dump(), ")");
}

// The field's value, or nullptr when absent or null (null means "default").
const json* field(const json& body, std::string_view name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

int64_t as_integer(std::string_view name, const json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      wrong_type(name, "an integer within 64 bits", value);
    }
    return value.get<int64_t>();
  }
  // 2.0 is accepted as 2, as the Python servers do.
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  wrong_type(name, "an integer", value);
}

float as_float(std::string_view name, const json& value) {
  if (!value.is_number()) wrong_type(name, "a number", value);
  return value.get<float>();
}

bool as_bool(std::string_view name, const json& value) {
  if (!value.is_boolean()) wrong_type(name, "a boolean", value);
  return value.get<bool>();
}

void read_integer(const json& body, std::string_view name, int64_t& out) {
  if (const json* v = field(body, name)) out = as_integer(name, *v);
}
void read_float(const json& body, std::string_view name, float& out) {
  if (const json* v = field(body, name)) out = as_float(name, *v);
}
void read_bool(const json& body, std::string_view name, bool& out) {
  if (const json* v = field(body, name)) out = as_bool(name, *v);
}

int32_t as_token_id(std::string_view name, const json& value) {
  const int64_t id = as_integer(name, value);
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    throw make_error(ErrorKind::kInvalidArgument, "'", name, "' holds ", id,
                     ", which is not a token id");
  }
  return static_cast<int32_t>(id);
}

void read_stop(const json& body, SamplingParams& p) {
  const json* stop = field(body, "stop");
  if (stop == nullptr) return;
  if (stop->is_string()) {
    p.stop.push_back(stop->get<std::string>());
    return;
  }
  if (!stop->is_array()) wrong_type("stop", "a string or an array of strings", *stop);
  for (const json& s : *stop) {
    if (!s.is_string()) wrong_type("stop", "a string or an array of strings", s);
    p.stop.push_back(s.get<std::string>());
  }
}

void read_stop_token_ids(const json& body, SamplingParams& p) {
  const json* ids = field(body, "stop_token_ids");
  if (ids == nullptr) return;
  if (!ids->is_array()) wrong_type("stop_token_ids", "an array of token ids", *ids);
  for (const json& id : *ids) p.stop_token_ids.push_back(as_token_id("stop_token_ids", id));
}

// {"50256": -100, ...}: keys are token ids written as strings.
void read_logit_bias(const json& body, SamplingParams& p) {
  const json* bias = field(body, "logit_bias");
  if (bias == nullptr) return;
  if (!bias->is_object()) wrong_type("logit_bias", "an object of token id -> bias", *bias);
  for (const auto& [key, value] : bias->items()) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != key.size() || id < 0 || id > std::numeric_limits<int32_t>::max()) {
      throw make_error(ErrorKind::kInvalidArgument, "'logit_bias' key '", key,
                       "' is not a token id");
    }
    p.logit_bias[static_cast<int32_t>(id)] = as_float("logit_bias", value);
  }
}

void read_logprobs(const json& body, OpenAiEndpoint endpoint, SamplingParams& p) {
  if (endpoint == OpenAiEndpoint::kCompletions) {
    if (const json* v = field(body, "logprobs")) p.logprobs = as_integer("logprobs", *v);
    return;
  }
  const json* wanted = field(body, "logprobs");
  const json* top = field(body, "top_logprobs");
  if (wanted != nullptr && as_bool("logprobs", *wanted)) {
    p.logprobs = top != nullptr ? as_integer("top_logprobs", *top) : 0;
  } else if (top != nullptr) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "'top_logprobs' needs 'logprobs': true in the same request");
  }
}

}  // namespace

SamplingParams sampling_params_from_json(const json& body, OpenAiEndpoint endpoint,
                                         int64_t unbounded_max_tokens) {
  if (!body.is_object()) wrong_type("the request body", "a JSON object", body);
  SamplingParams p;
  if (endpoint == OpenAiEndpoint::kChatCompletions) p.max_tokens = unbounded_max_tokens;
  read_integer(body, "n", p.n);
  read_float(body, "temperature", p.temperature);
  read_float(body, "top_p", p.top_p);
  read_integer(body, "top_k", p.top_k);
  read_float(body, "min_p", p.min_p);
  read_float(body, "presence_penalty", p.presence_penalty);
  read_float(body, "frequency_penalty", p.frequency_penalty);
  read_float(body, "repetition_penalty", p.repetition_penalty);
  read_logit_bias(body, p);
  if (const json* seed = field(body, "seed")) {
    p.seed = static_cast<uint64_t>(as_integer("seed", *seed));
  }
  read_stop(body, p);
  read_stop_token_ids(body, p);
  read_bool(body, "include_stop_str_in_output", p.include_stop_str_in_output);
  read_bool(body, "ignore_eos", p.ignore_eos);
  // Chat's newer name wins over the deprecated one when both are given.
  read_integer(body, "max_tokens", p.max_tokens);
  if (endpoint == OpenAiEndpoint::kChatCompletions) {
    read_integer(body, "max_completion_tokens", p.max_tokens);
  }
  read_integer(body, "min_tokens", p.min_tokens);
  read_logprobs(body, endpoint, p);
  if (const json* v = field(body, "prompt_logprobs")) {
    p.prompt_logprobs = as_integer("prompt_logprobs", *v);
  }
  read_bool(body, "skip_special_tokens", p.skip_special_tokens);
  return p;
}

}  // namespace localmoe
