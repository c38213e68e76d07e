// localmoe bench: the engine's end-to-end figures on synthetic requests
// (random prompt ids of a fixed length, ignore_eos, a fixed number of output
// tokens), as vLLM's benchmark scripts measure them.
//
//   bench throughput   every request queued at once, stepped to completion on
//                      this thread: requests/s, output and total tokens/s, and
//                      the decode rate of the steps that only decoded
//   bench latency      requests arriving at --request-rate (Poisson; inf = all
//                      at once) on the engine's own thread: TTFT, TPOT, ITL and
//                      end-to-end latency, mean and p50 / p90 / p99
//
// The weights are read once before timing (a warm-up request), so the page
// cache's first faults do not count.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend.h"
#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/engine/completion.h"
#include "localmoe/engine/offline_batch.h"
#include "localmoe/engine/served_model.h"

namespace localmoe::apps {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  ConfigArgs config;
  int64_t num_prompts = 16;
  int64_t input_len = 128;
  int64_t output_len = 128;
  int64_t prefix_len = 0;  // tokens every prompt starts with, before its own
  float temperature = 1.0f;
  uint64_t seed = 0;
  double request_rate = std::numeric_limits<double>::infinity();
  bool json = false;
};

// Random prompts with ids drawn uniformly from the vocabulary (a shared
// prefix of prefix_len, then input_len of each prompt's own), and sampling
// that runs exactly output_len tokens.
struct Workload {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<SamplingParams> params;
};

Workload make_workload(const BenchOptions& o, int64_t vocab_size) {
  Workload w;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab_size - 1));
  std::vector<int32_t> prefix(static_cast<size_t>(o.prefix_len));
  for (int32_t& id : prefix) id = token(rng);
  for (int64_t i = 0; i < o.num_prompts; ++i) {
    std::vector<int32_t> prompt = prefix;
    for (int64_t j = 0; j < o.input_len; ++j) prompt.push_back(token(rng));
    w.prompts.push_back(std::move(prompt));
    SamplingParams p;
    p.temperature = o.temperature;
    p.max_tokens = o.output_len;
    p.ignore_eos = true;
    p.seed = o.seed + static_cast<uint64_t>(i);
    w.params.push_back(p);
  }
  return w;
}

void warm_up(ServedModel& served, const BenchOptions& o) {
  OfflineBatch batch(served.engine());
  SamplingParams p;
  p.max_tokens = 2;
  p.ignore_eos = true;
  const int64_t vocab = served.model().config().vocab_size;
  std::vector<int32_t> prompt(static_cast<size_t>(std::min<int64_t>(o.input_len, 16)));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(i % vocab);
  batch.add(std::move(prompt), p);
  batch.run();
}

double per_second(double count, double seconds) {
  return seconds > 0.0 ? count / seconds : 0.0;
}

// Mean and percentiles (linear interpolation between closest ranks, as
// numpy.percentile) of `values`, in milliseconds.
json distribution_ms(std::vector<double> values) {
  if (values.empty()) return {{"mean", 0.0}, {"p50", 0.0}, {"p90", 0.0}, {"p99", 0.0}};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double rank = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return 1e3 * (values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo)));
  };
  double sum = 0.0;
  for (double v : values) sum += v;
  return {{"mean", 1e3 * sum / static_cast<double>(values.size())},
          {"p50", at(0.50)},
          {"p90", at(0.90)},
          {"p99", at(0.99)}};
}

json engine_json(const ServedModel& served) {
  const EngineStats s = served.engine().stats();
  const PrefixCacheStats& p = s.scheduler.prefix_cache;
  return {{"kernels", std::string(served.model().kernels().name())},
          {"kv_cache_dtype", std::string(dtype_name(served.kv_cache_dtype()))},
          {"kv_blocks", served.kv_capacity().num_blocks},
          {"steps", s.num_steps},
          {"preemptions", s.scheduler.num_preemptions},
          {"prefix_cache_hit_tokens", p.hit_tokens},
          {"prefix_cache_query_tokens", p.query_tokens}};
}

void run_throughput(const BenchOptions& o) {
  const LoadedConfig loaded = o.config.load();
  Backend backend(loaded);
  ServedModel served(loaded.config, backend.kernels(), backend.pool());
  const Workload w = make_workload(o, served.model().config().vocab_size);
  warm_up(served, o);

  OfflineBatch batch(served.engine());
  for (size_t i = 0; i < w.prompts.size(); ++i) batch.add(w.prompts[i], w.params[i]);
  // Steps that only decoded: each computed exactly the tokens it generated.
  double decode_seconds = 0.0;
  int64_t decode_tokens = 0;
  SchedulerStats last = served.engine().stats().scheduler;
  const Clock::time_point start = Clock::now();
  Clock::time_point step_start = start;
  batch.run([&](const OfflineBatch&) {
    const Clock::time_point now = Clock::now();
    const SchedulerStats s = served.engine().stats().scheduler;
    const int64_t computed = s.num_computed_tokens - last.num_computed_tokens;
    const int64_t generated = s.num_generated_tokens - last.num_generated_tokens;
    if (computed > 0 && computed == generated) {
      decode_seconds += std::chrono::duration<double>(now - step_start).count();
      decode_tokens += generated;
    }
    last = s;
    step_start = now;
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  int64_t prompt_tokens = 0;
  for (size_t i = 0; i < batch.size(); ++i) prompt_tokens += batch.completion(i).prompt_tokens;
  const auto output_tokens = static_cast<double>(batch.num_generated_tokens());
  const json result = {
      {"num_prompts", o.num_prompts},
      {"input_len", o.input_len},
      {"prefix_len", o.prefix_len},
      {"output_len", o.output_len},
      {"max_num_seqs", loaded.config.engine.max_num_seqs},
      {"threads", backend.pool().num_threads()},
      {"elapsed_s", seconds},
      {"requests_per_s", per_second(static_cast<double>(batch.size()), seconds)},
      {"output_tokens_per_s", per_second(output_tokens, seconds)},
      {"total_tokens_per_s",
       per_second(output_tokens + static_cast<double>(prompt_tokens), seconds)},
      {"decode_tokens_per_s", per_second(static_cast<double>(decode_tokens), decode_seconds)},
      {"engine", engine_json(served)},
  };
  if (o.json) {
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  std::printf(
      "throughput: %lld prompts of %lld tokens, %lld output tokens each, max_num_seqs %lld\n",
      static_cast<long long>(o.num_prompts), static_cast<long long>(o.input_len),
      static_cast<long long>(o.output_len),
      static_cast<long long>(loaded.config.engine.max_num_seqs));
  std::printf("  elapsed          %10.3f s\n", seconds);
  std::printf("  requests/s       %10.3f\n", result["requests_per_s"].get<double>());
  std::printf("  output tokens/s  %10.2f\n", result["output_tokens_per_s"].get<double>());
  std::printf("  total tokens/s   %10.2f\n", result["total_tokens_per_s"].get<double>());
  std::printf("  decode tokens/s  %10.2f  (steps that only decoded)\n",
              result["decode_tokens_per_s"].get<double>());
}

void run_latency(const BenchOptions& o) {
  if (!(o.request_rate > 0.0)) {
    throw make_error(ErrorKind::kInvalidArgument, "--request-rate must be > 0 (inf: all at once)");
  }
  const LoadedConfig loaded = o.config.load();
  Backend backend(loaded);
  ServedModel served(loaded.config, backend.kernels(), backend.pool());
  const Workload w = make_workload(o, served.model().config().vocab_size);
  warm_up(served, o);

  Engine& engine = served.engine();
  engine.start();
  std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  std::exponential_distribution<double> gap(std::isinf(o.request_rate) ? 1.0 : o.request_rate);
  std::vector<std::shared_ptr<OutputStream>> streams;
  const Clock::time_point start = Clock::now();
  Clock::time_point next = start;
  for (size_t i = 0; i < w.prompts.size(); ++i) {
    std::this_thread::sleep_until(next);
    streams.push_back(engine.add_request(w.prompts[i], w.params[i]));
    if (!std::isinf(o.request_rate)) {
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
    }
  }
  std::vector<double> ttft, tpot, itl, e2e;
  int64_t output_tokens = 0;
  for (const auto& stream : streams) {
    const Completion c = Completion::collect(*stream, 1);
    const CompletionChoice& choice = c.choices.front();
    if (choice.error) throw make_error(ErrorKind::kIo, "a request failed: ", *choice.error);
    const RequestTimings& t = choice.timings;
    ttft.push_back(t.first_token);
    e2e.push_back(t.finished);
    if (choice.token_ids.size() > 1) {
      tpot.push_back((t.finished - t.first_token) /
                     static_cast<double>(choice.token_ids.size() - 1));
    }
    itl.insert(itl.end(), t.inter_token.begin(), t.inter_token.end());
    output_tokens += static_cast<int64_t>(choice.token_ids.size());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.stop();

  const json result = {
      {"num_prompts", o.num_prompts},
      {"input_len", o.input_len},
      {"prefix_len", o.prefix_len},
      {"output_len", o.output_len},
      {"request_rate", std::isinf(o.request_rate) ? json("inf") : json(o.request_rate)},
      {"threads", backend.pool().num_threads()},
      {"elapsed_s", seconds},
      {"output_tokens_per_s", per_second(static_cast<double>(output_tokens), seconds)},
      {"ttft_ms", distribution_ms(ttft)},
      {"tpot_ms", distribution_ms(tpot)},
      {"itl_ms", distribution_ms(itl)},
      {"e2e_ms", distribution_ms(e2e)},
      {"engine", engine_json(served)},
  };
  if (o.json) {
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  std::printf("latency: %lld prompts of %lld tokens, %lld output tokens each, %g requests/s\n",
              static_cast<long long>(o.num_prompts), static_cast<long long>(o.input_len),
              static_cast<long long>(o.output_len), o.request_rate);
  std::printf("  %-10s %10s %10s %10s %10s\n", "ms", "mean", "p50", "p90", "p99");
  for (const char* key : {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}) {
    const json& d = result[key];
    std::printf("  %-10.*s %10.2f %10.2f %10.2f %10.2f\n", static_cast<int>(std::strlen(key) - 3),
                key, d["mean"].get<double>(), d["p50"].get<double>(), d["p90"].get<double>(),
                d["p99"].get<double>());
  }
  std::printf("  output tokens/s %.2f over %.3f s\n", result["output_tokens_per_s"].get<double>(),
              seconds);
}

void add_workload_options(CLI::App& cmd, BenchOptions& o) {
  add_config_options(cmd, o.config, model_flags());
  cmd.add_option("--num-prompts", o.num_prompts, "Requests")
      ->check(at_least(1))
      ->capture_default_str();
  cmd.add_option("--input-len", o.input_len, "Prompt tokens per request")
      ->check(at_least(1))
      ->capture_default_str();
  cmd.add_option("--output-len", o.output_len, "Output tokens per request")
      ->check(at_least(1))
      ->capture_default_str();
  cmd.add_option("--prefix-len", o.prefix_len,
                 "Tokens every prompt starts with (a shared system prompt), before its own")
      ->check(at_least(0))
      ->capture_default_str();
  cmd.add_option("--temperature", o.temperature, "Sampling temperature (0 = greedy)")
      ->check(in_range(0, kMaxTemperature))
      ->capture_default_str();
  cmd.add_option("--seed", o.seed, "Seed of the prompts and of the sampling")
      ->capture_default_str();
  cmd.add_flag("--json", o.json, "Print one JSON object");
}

}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure the engine: throughput or latency");
  bench->require_subcommand(1);

  auto throughput = std::make_shared<BenchOptions>();
  CLI::App* t = bench->add_subcommand(
      "throughput", "Every request at once: requests/s, output and total tokens/s");
  add_workload_options(*t, *throughput);
  t->callback([throughput] { run_throughput(*throughput); });

  auto latency = std::make_shared<BenchOptions>();
  CLI::App* l = bench->add_subcommand(
      "latency", "Requests arriving at a rate: TTFT, TPOT, ITL and end-to-end percentiles");
  add_workload_options(*l, *latency);
  l->add_option("--request-rate", latency->request_rate,
                "Requests per second, Poisson arrivals (default: inf, all at once)");
  l->callback([latency] { run_latency(*latency); });
}

}  // namespace localmoe::apps
