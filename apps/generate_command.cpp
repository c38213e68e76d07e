// localmoe generate: prompts through the batching engine, for scripts,
// offline batches, debugging and benchmarks.
//
//   --prompt / --prompt-ids / --chat   one request; text on stdout, or one
//                                      JSON object with --json
//   --input prompts.jsonl              one request per line, all through one
//   [--output results.jsonl]           engine; one result line per input line,
//                                      in input order (stdout without --output)
//
// An input line is {"prompt": "..."}, {"prompt_ids": [...]} or
// {"messages": [...]}, plus any sampling field by its OpenAI name; the
// command's flags are the defaults of every line. A bad line gives a result
// line with its "error" (and a message naming the line on stderr); the
// others still run.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/engine/offline_batch.h"
#include "localmoe/engine/served_model.h"
#include "localmoe/server/openai_request.h"
#include "localmoe/server/openai_sampling.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::apps {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// The engine, model and runtime settings come from the configuration
// (--config, --set and the model flags); the rest is this command's own.
struct GenerateOptions {
  ConfigArgs config;
  std::string prompt_ids;
  std::string prompt;
  std::string chat_file;
  std::string input;
  std::string output;
  // Sampling defaults of every request.
  int64_t max_tokens = 32;
  float temperature = 0.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::optional<int64_t> logprobs;
  bool ignore_eos = false;
  bool json = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    const std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long value = 0;
    try {
      value = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0 || value > INT32_MAX) {
      throw make_error(ErrorKind::kInvalidArgument, "--prompt-ids: '", item,
                       "' is not a token id (expected comma-separated non-negative integers)");
    }
    ids.push_back(static_cast<int32_t>(value));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return ids;
}

const Tokenizer& need_tokenizer(const ServedModel& served, std::string_view what) {
  if (served.tokenizer() == nullptr) {
    throw make_error(ErrorKind::kInvalidArgument, what, " needs the model's tokenizer, and '",
                     served.name(), "' has none; give token ids instead");
  }
  return *served.tokenizer();
}

std::vector<int32_t> encode_chat(const ServedModel& served, const ordered_json& messages) {
  return encode_chat_messages(messages, need_tokenizer(served, "a chat prompt"),
                              /*add_generation_prompt=*/true);
}

// The command's sampling flags as request fields, the defaults of every
// request; `chat` spells logprobs the chat way.
json sampling_defaults(const GenerateOptions& o, bool chat) {
  json d = {{"max_tokens", o.max_tokens},
            {"temperature", o.temperature},
            {"top_k", o.top_k},
            {"top_p", o.top_p},
            {"min_p", o.min_p},
            {"repetition_penalty", o.repetition_penalty},
            {"presence_penalty", o.presence_penalty},
            {"frequency_penalty", o.frequency_penalty},
            {"ignore_eos", o.ignore_eos}};
  if (o.seed) d["seed"] = *o.seed;
  if (!o.stop.empty()) d["stop"] = o.stop;
  if (o.logprobs) {
    if (chat) {
      d["logprobs"] = true;
      d["top_logprobs"] = *o.logprobs;
    } else {
      d["logprobs"] = *o.logprobs;
    }
  }
  return d;
}

struct PreparedRequest {
  std::vector<int32_t> prompt;
  SamplingParams params;
};

// One input line's request: its prompt and its fields over the defaults.
PreparedRequest prepare_line(const ServedModel& served, const GenerateOptions& o,
                             const ordered_json& line) {
  if (!line.is_object()) {
    throw make_error(ErrorKind::kInvalidArgument, "a line must be a JSON object");
  }
  const int sources =
      line.contains("prompt") + line.contains("prompt_ids") + line.contains("messages");
  if (sources != 1) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "give exactly one of \"prompt\", \"prompt_ids\" and \"messages\"");
  }
  PreparedRequest r;
  const bool chat = line.contains("messages");
  if (chat) {
    r.prompt = encode_chat(served, line["messages"]);
  } else if (line.contains("prompt")) {
    if (!line["prompt"].is_string()) {
      throw make_error(ErrorKind::kInvalidArgument, "\"prompt\" must be a string");
    }
    r.prompt = need_tokenizer(served, "a text prompt")
                   .encode(line["prompt"].get<std::string>(), /*add_special_tokens=*/true);
  } else {
    const ordered_json& ids = line["prompt_ids"];
    if (!ids.is_array()) {
      throw make_error(ErrorKind::kInvalidArgument, "\"prompt_ids\" must be an array of ids");
    }
    for (const ordered_json& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
        throw make_error(ErrorKind::kInvalidArgument, "\"prompt_ids\" holds ", id.dump(),
                         ", which is not a token id");
      }
      r.prompt.push_back(id.get<int32_t>());
    }
  }
  json fields = sampling_defaults(o, chat);
  for (const auto& [key, value] : line.items()) fields[key] = value;
  r.params = sampling_params_from_json(
      fields, chat ? OpenAiEndpoint::kChatCompletions : OpenAiEndpoint::kCompletions, o.max_tokens);
  return r;
}

// The single-prompt forms' request.
PreparedRequest prepare_single(const ServedModel& served, const GenerateOptions& o) {
  PreparedRequest r;
  if (!o.prompt_ids.empty()) {
    r.prompt = parse_ids(o.prompt_ids);
  } else if (!o.prompt.empty()) {
    r.prompt = need_tokenizer(served, "--prompt").encode(o.prompt, /*add_special_tokens=*/true);
  } else {
    std::ifstream in(o.chat_file);
    if (!in) throw make_error(ErrorKind::kNotFound, "cannot open '", o.chat_file, "'");
    ordered_json messages;
    try {
      messages = ordered_json::parse(in);
    } catch (const json::exception& e) {
      throw make_error(ErrorKind::kInvalidArgument, "'", o.chat_file, "' is not JSON: ", e.what());
    }
    if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
    try {
      r.prompt = encode_chat(served, messages);
    } catch (Error& e) {
      throw e.with_context("'" + o.chat_file + "'");
    }
  }
  const bool chat = !o.chat_file.empty();
  r.params = sampling_params_from_json(
      sampling_defaults(o, chat),
      chat ? OpenAiEndpoint::kChatCompletions : OpenAiEndpoint::kCompletions, o.max_tokens);
  return r;
}

json logprobs_json(const std::vector<Logprobs>& logprobs) {
  json out = json::array();
  for (const Logprobs& l : logprobs) {
    json top = json::array();
    for (const TokenLogprob& t : l.top_logprobs()) {
      top.push_back({{"token_id", t.token_id}, {"logprob", t.logprob}});
    }
    out.push_back({{"token_id", l.token.token_id},
                   {"logprob", l.token.logprob},
                   {"rank", l.rank},
                   {"top_logprobs", top}});
  }
  return out;
}

double tokens_per_second(double tokens, double seconds) {
  return seconds > 0.0 ? tokens / seconds : 0.0;
}

json timings_json(const CompletionChoice& c, int64_t prompt_tokens) {
  const RequestTimings& t = c.timings;
  const auto decoded = static_cast<double>(c.token_ids.size()) - 1.0;
  return {{"queued_s", t.queued},
          {"first_token_s", t.first_token},
          {"total_s", t.finished},
          {"prefill_tokens_per_s",
           tokens_per_second(static_cast<double>(prompt_tokens), t.first_token - t.queued)},
          {"decode_tokens_per_s", tokens_per_second(decoded, t.finished - t.first_token)}};
}

std::string finish_text(const CompletionChoice& c) {
  if (c.error) return "error";
  return std::string(finish_reason_name(c.finish_reason.value_or(FinishReason::kAbort)));
}

json choice_json(const CompletionChoice& c, const Completion& completion, bool has_tokenizer) {
  json out = {{"index", c.index},
              {"token_ids", c.token_ids},
              {"finish_reason", finish_text(c)},
              {"timings", timings_json(c, completion.prompt_tokens)}};
  if (has_tokenizer) out["text"] = c.text;
  if (c.stop_string) out["stop_reason"] = *c.stop_string;
  if (c.stop_token_id) out["stop_reason"] = *c.stop_token_id;
  if (c.error) out["error"] = *c.error;
  if (!c.logprobs.empty()) out["logprobs"] = logprobs_json(c.logprobs);
  return out;
}

// A result line: the first choice's fields at the top level (the usual n = 1),
// every choice under "choices" when there are several.
json result_json(size_t index, const Completion& completion, bool has_tokenizer) {
  json out = choice_json(completion.choices.front(), completion, has_tokenizer);
  out["index"] = index;
  out["usage"] = {{"prompt_tokens", completion.prompt_tokens},
                  {"completion_tokens", completion.completion_tokens},
                  {"cached_prompt_tokens", completion.cached_prompt_tokens}};
  if (!completion.prompt_logprobs.empty()) {
    out["prompt_logprobs"] = logprobs_json(completion.prompt_logprobs);
  }
  if (completion.choices.size() > 1) {
    json choices = json::array();
    for (const CompletionChoice& c : completion.choices) {
      choices.push_back(choice_json(c, completion, has_tokenizer));
    }
    out["choices"] = choices;
  }
  return out;
}

// One line on stderr at most every two seconds while a batch runs.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), start_(Clock::now()), last_(start_) {}

  void update(const OfflineBatch& batch) {
    const Clock::time_point now = Clock::now();
    if (now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const auto done = static_cast<double>(batch.num_finished());
    const double eta = done > 0 ? elapsed / done * (static_cast<double>(total_) - done) : 0.0;
    std::fprintf(stderr, "generate: %lld/%zu requests, %lld tokens, %.1f tokens/s, eta %.0f s\n",
                 static_cast<long long>(batch.num_finished()), total_,
                 static_cast<long long>(batch.num_generated_tokens()),
                 tokens_per_second(static_cast<double>(batch.num_generated_tokens()), elapsed),
                 eta);
  }

 private:
  size_t total_;
  Clock::time_point start_;
  Clock::time_point last_;
};

void run_batch(ServedModel& served, const GenerateOptions& o) {
  std::ifstream in(o.input);
  if (!in) throw make_error(ErrorKind::kNotFound, "cannot open '", o.input, "'");
  std::ofstream file;
  if (!o.output.empty()) {
    file.open(o.output);
    if (!file) throw make_error(ErrorKind::kIo, "cannot write '", o.output, "'");
  }
  std::ostream& out = o.output.empty() ? std::cout : file;

  // Per input line (blank lines skipped): its batch index, or its error.
  struct Line {
    int64_t number;
    std::optional<size_t> request;
    std::string error;
  };
  std::vector<Line> lines;
  OfflineBatch batch(served.engine());
  std::string text;
  for (int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Line line{number, std::nullopt, {}};
    try {
      ordered_json parsed;
      try {
        parsed = ordered_json::parse(text);
      } catch (const json::exception& e) {
        throw make_error(ErrorKind::kInvalidArgument, "not JSON: ", e.what());
      }
      PreparedRequest r = prepare_line(served, o, parsed);
      line.request = batch.add(std::move(r.prompt), r.params);
    } catch (const Error& e) {
      line.error = e.what();
      std::fprintf(stderr, "%s:%lld: error: %s\n", o.input.c_str(), static_cast<long long>(number),
                   e.what());
    }
    lines.push_back(std::move(line));
  }

  const Clock::time_point start = Clock::now();
  Progress progress(batch.size());
  batch.run([&](const OfflineBatch& b) { progress.update(b); });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  int64_t failed = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
    json result;
    if (line.request) {
      result = result_json(i, batch.completion(*line.request), served.tokenizer() != nullptr);
    } else {
      ++failed;
      result = {{"index", i}, {"line", line.number}, {"error", line.error}};
    }
    out << result.dump() << '\n';
  }
  out.flush();
  std::fprintf(stderr,
               "generate: %zu requests (%lld rejected), %lld tokens in %.2f s: %.2f requests/s, "
               "%.1f output tokens/s\n",
               batch.size(), static_cast<long long>(failed),
               static_cast<long long>(batch.num_generated_tokens()), seconds,
               tokens_per_second(static_cast<double>(batch.size()), seconds),
               tokens_per_second(static_cast<double>(batch.num_generated_tokens()), seconds));
}

void run_single(ServedModel& served, const GenerateOptions& o) {
  PreparedRequest r = prepare_single(served, o);
  OfflineBatch batch(served.engine());
  batch.add(std::move(r.prompt), r.params);
  batch.run();
  const Completion& completion = batch.completion(0);
  const CompletionChoice& choice = completion.choices.front();
  if (choice.error) throw make_error(ErrorKind::kIo, "generation failed: ", *choice.error);
  const json timings = timings_json(choice, completion.prompt_tokens);
  if (o.json) {
    json out = {{"model", served.name()},
                {"prompt_tokens", completion.prompt_tokens},
                {"token_ids", choice.token_ids},
                {"finish_reason", finish_text(choice)},
                {"timings",
                 {{"load_s", served.load_seconds()},
                  {"prefill_tokens_per_s", timings["prefill_tokens_per_s"]},
                  {"decode_tokens_per_s", timings["decode_tokens_per_s"]}}}};
    if (served.tokenizer() != nullptr) out["text"] = choice.text;
    if (!choice.logprobs.empty()) out["logprobs"] = logprobs_json(choice.logprobs);
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  if (served.tokenizer() != nullptr) {
    std::printf("%s\n", choice.text.c_str());
  } else {
    std::string ids;
    for (int32_t id : choice.token_ids) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", ids.c_str());
  }
  std::fflush(stdout);  // the text before the statistics when both go to one pipe
  std::fprintf(
      stderr, "%zu tokens (%s); load %.2f s, prefill %.1f tokens/s, decode %.2f tokens/s\n",
      choice.token_ids.size(), finish_text(choice).c_str(), served.load_seconds(),
      timings["prefill_tokens_per_s"].get<double>(), timings["decode_tokens_per_s"].get<double>());
}

void run_generate(const GenerateOptions& o) {
  const int sources =
      !o.prompt_ids.empty() + !o.prompt.empty() + !o.chat_file.empty() + !o.input.empty();
  if (sources != 1) {
    throw make_error(ErrorKind::kInvalidArgument,
                     "give exactly one of --prompt-ids, --prompt, --chat and --input");
  }
  if (!o.output.empty() && o.input.empty()) {
    throw make_error(ErrorKind::kInvalidArgument, "--output goes with --input");
  }
  const LoadedConfig loaded = o.config.load();
  Backend backend(loaded);
  ServedModel served(loaded.config, backend.kernels(), backend.pool());
  if (o.input.empty()) {
    run_single(served, o);
  } else {
    run_batch(served, o);
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Generate from one prompt, or from every line of a JSONL file, with one engine");
  add_config_options(*cmd, options->config, model_flags());
  cmd->add_option("--prompt-ids", options->prompt_ids, "Prompt as comma-separated token ids");
  cmd->add_option("--prompt", options->prompt, "Prompt text, encoded with the model's tokenizer");
  cmd->add_option("--chat", options->chat_file,
                  "JSON file of chat messages, rendered with the model's chat template")
      ->check(CLI::ExistingFile);
  cmd->add_option("--input", options->input,
                  "JSONL file: one request per line ({\"prompt\"}, {\"prompt_ids\"} or "
                  "{\"messages\"}, plus sampling fields by their OpenAI names)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", options->output,
                  "JSONL file for --input's results, in input order (default: stdout)");
  cmd->add_option("-n,--max-tokens", options->max_tokens, "New tokens at most")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option("--temperature", options->temperature, "0 = greedy")
      ->check(in_range(0, kMaxTemperature))
      ->capture_default_str();
  cmd->add_option("--top-k", options->top_k, "Keep the k most likely tokens (0 = all)")
      ->check(at_least(0))
      ->capture_default_str();
  cmd->add_option("--top-p", options->top_p, "Nucleus sampling mass, in (0, 1]")
      ->check(in_range(0, 1))
      ->capture_default_str();
  cmd->add_option("--min-p", options->min_p,
                  "Drop tokens below this fraction of the most likely one's probability")
      ->check(in_range(0, 1))
      ->capture_default_str();
  cmd->add_option("--repetition-penalty", options->repetition_penalty,
                  "Divide the logits of seen tokens by this (1 = off)")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", options->presence_penalty,
                  "Subtract from the logits of generated tokens, once")
      ->check(in_range(-kMaxPresenceFrequency, kMaxPresenceFrequency))
      ->capture_default_str();
  cmd->add_option("--frequency-penalty", options->frequency_penalty,
                  "Subtract from a token's logit per time it was generated")
      ->check(in_range(-kMaxPresenceFrequency, kMaxPresenceFrequency))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed for reproducible sampling (default: random)");
  cmd->add_option("--stop", options->stop, "Stop string (repeat for several)");
  cmd->add_option("--logprobs", options->logprobs,
                  "Return each token's logprob and this many alternatives")
      ->check(in_range(0, static_cast<double>(kMaxLogprobs)));
  cmd->add_flag("--ignore-eos", options->ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_flag("--json", options->json,
                "Print one JSON object with token_ids, text (with a tokenizer) and timings");
  cmd->callback([options] { run_generate(*options); });
}

}  // namespace localmoe::apps
