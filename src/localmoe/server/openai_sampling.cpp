#include "localmoe/server/openai_sampling.h"

#include <limits>
#include <string>

#include "localmoe/base/error.h"
#include "localmoe/server/json_fields.h"

namespace localmoe {
namespace {

using nlohmann::json;

void read_integer(const json& body, std::string_view name, int64_t& out) {
  if (const json* v = json_field(body, name)) out = json_integer(name, *v);
}
void read_float(const json& body, std::string_view name, float& out) {
  if (const json* v = json_field(body, name)) out = json_float(name, *v);
}
void read_bool(const json& body, std::string_view name, bool& out) {
  if (const json* v = json_field(body, name)) out = json_bool(name, *v);
}

void read_stop(const json& body, SamplingParams& p) {
  const json* stop = json_field(body, "stop");
  if (stop == nullptr) return;
  if (stop->is_string()) {
    p.stop.push_back(stop->get<std::string>());
    return;
  }
  if (!stop->is_array()) throw_wrong_type("stop", "a string or an array of strings", *stop);
  for (const json& s : *stop) {
    if (!s.is_string()) throw_wrong_type("stop", "a string or an array of strings", s);
    p.stop.push_back(s.get<std::string>());
  }
}

void read_stop_token_ids(const json& body, SamplingParams& p) {
  const json* ids = json_field(body, "stop_token_ids");
  if (ids == nullptr) return;
  if (!ids->is_array()) throw_wrong_type("stop_token_ids", "an array of token ids", *ids);
  for (const json& id : *ids) p.stop_token_ids.push_back(json_token_id("stop_token_ids", id));
}

// {"50256": -100, ...}: keys are token ids written as strings.
void read_logit_bias(const json& body, SamplingParams& p) {
  const json* bias = json_field(body, "logit_bias");
  if (bias == nullptr) return;
  if (!bias->is_object()) throw_wrong_type("logit_bias", "an object of token id -> bias", *bias);
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
    p.logit_bias[static_cast<int32_t>(id)] = json_float("logit_bias", value);
  }
}

void read_logprobs(const json& body, OpenAiEndpoint endpoint, SamplingParams& p) {
  if (endpoint == OpenAiEndpoint::kCompletions) {
    if (const json* v = json_field(body, "logprobs")) p.logprobs = json_integer("logprobs", *v);
    return;
  }
  const json* wanted = json_field(body, "logprobs");
  const json* top = json_field(body, "top_logprobs");
  if (wanted != nullptr && json_bool("logprobs", *wanted)) {
    p.logprobs = top != nullptr ? json_integer("top_logprobs", *top) : 0;
  } else if (top != nullptr) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "'top_logprobs' needs 'logprobs': true in the same request");
  }
}

}  // namespace

SamplingParams sampling_params_from_json(const json& body, OpenAiEndpoint endpoint,
                                         int64_t unbounded_max_tokens) {
  if (!body.is_object()) throw_wrong_type("the request body", "a JSON object", body);
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
  if (const json* seed = json_field(body, "seed")) {
    p.seed = static_cast<uint64_t>(json_integer("seed", *seed));
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
  if (const json* v = json_field(body, "prompt_logprobs")) {
    p.prompt_logprobs = json_integer("prompt_logprobs", *v);
  }
  read_bool(body, "skip_special_tokens", p.skip_special_tokens);
  return p;
}

}  // namespace localmoe
