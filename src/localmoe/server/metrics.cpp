#include "localmoe/server/metrics.h"

#include <charconv>
#include <cmath>
#include <functional>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

constexpr FinishReason kReasons[] = {FinishReason::kStop, FinishReason::kLength,
                                     FinishReason::kAbort};

// A label value with \, " and newlines escaped, as the format requires.
std::string escaped(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `v` (0.1, not 0.10000000000000001);
// infinities as the format spells them.
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, result.ptr);
}

class Exposition {
 public:
  explicit Exposition(std::span<const ModelMetrics> models) : models_(models) {}

  // One family: HELP and TYPE once, then one sample per model.
  void family(std::string_view name, std::string_view type, std::string_view help,
              const std::function<double(const ModelMetrics&)>& value) {
    header(name, type, help);
    for (const ModelMetrics& m : models_) sample(name, labels(m), value(m));
  }

  void request_success() {
    constexpr std::string_view kName = "vllm:request_success_total";
    header(kName, "counter", "Finished requests by finish reason.");
    for (const ModelMetrics& m : models_) {
      for (const FinishReason reason : kReasons) {
        const std::string reason_label =
            labels(m) + ",finished_reason=\"" + std::string(finish_reason_name(reason)) + "\"";
        sample(kName, reason_label, static_cast<double>(m.observed->num_finished(reason)));
      }
    }
  }

  void histogram(std::string_view name, std::string_view help,
                 const std::function<const LatencyHistogram&(const ServerMetrics&)>& pick) {
    header(name, "histogram", help);
    const std::string base(name);
    for (const ModelMetrics& m : models_) {
      const LatencyHistogram::Snapshot s = pick(*m.observed).snapshot();
      for (size_t i = 0; i <= s.bounds.size(); ++i) {
        const double bound = i < s.bounds.size() ? s.bounds[i] : INFINITY;
        sample(base + "_bucket", labels(m) + ",le=\"" + number(bound) + "\"",
               static_cast<double>(s.cumulative[i]));
      }
      sample(base + "_sum", labels(m), s.sum);
      sample(base + "_count", labels(m), static_cast<double>(s.cumulative.back()));
    }
  }

  std::string text() && { return std::move(text_); }

 private:
  static std::string labels(const ModelMetrics& m) {
    return "model_name=\"" + escaped(m.model_name) + "\"";
  }
  void header(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += help;
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  void sample(std::string_view name, const std::string& labels, double value) {
    text_ += name;
    text_ += '{';
    text_ += labels;
    text_ += "} ";
    text_ += number(value);
    text_ += '\n';
  }

  std::span<const ModelMetrics> models_;
  std::string text_;
};

}  // namespace

ServerMetrics::ServerMetrics()
    : time_to_first_token_(LatencyHistogram::time_to_first_token_bounds()),
      time_per_output_token_(LatencyHistogram::inter_token_bounds()),
      e2e_request_latency_(LatencyHistogram::request_latency_bounds()),
      request_queue_time_(LatencyHistogram::request_latency_bounds()) {}

void ServerMetrics::observe_finished(const RequestOutput& last) {
  if (last.error.has_value()) {
    num_failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!last.finish_reason.has_value()) return;
  num_finished_[static_cast<int>(*last.finish_reason)].fetch_add(1, std::memory_order_relaxed);
  const RequestTimings& t = last.timings;
  request_queue_time_.observe(t.queued);
  e2e_request_latency_.observe(t.finished);
  // An aborted request that never sampled has no first token.
  if (t.first_token > 0) time_to_first_token_.observe(t.first_token);
  for (const double gap : t.inter_token) time_per_output_token_.observe(gap);
}

int64_t ServerMetrics::num_finished(FinishReason reason) const {
  return num_finished_[static_cast<int>(reason)].load(std::memory_order_relaxed);
}

std::string render_prometheus(std::span<const ModelMetrics> models) {
  for (const ModelMetrics& m : models) LM_CHECK(m.observed != nullptr);
  Exposition e(models);
  auto stat = [](auto field) {
    return [field](const ModelMetrics& m) { return static_cast<double>(field(m.stats)); };
  };
  e.family("vllm:num_requests_running", "gauge", "Requests in the running batch.",
           stat([](const EngineStats& s) { return s.scheduler.num_running; }));
  e.family("vllm:num_requests_waiting", "gauge", "Requests waiting to be scheduled.",
           stat([](const EngineStats& s) { return s.scheduler.num_waiting; }));
  e.family("vllm:kv_cache_usage_perc", "gauge", "Fraction of KV-cache blocks in use (1 = full).",
           [](const ModelMetrics& m) { return m.stats.scheduler.kv_usage; });
  e.family("vllm:prompt_tokens_total", "counter", "Prompt tokens of the requests added.",
           stat([](const EngineStats& s) { return s.scheduler.num_prompt_tokens; }));
  e.family("vllm:generation_tokens_total", "counter", "Tokens generated.",
           stat([](const EngineStats& s) { return s.scheduler.num_generated_tokens; }));
  e.family("vllm:num_preemptions_total", "counter", "Preemptions (recompute and swap).",
           stat([](const EngineStats& s) { return s.scheduler.num_preemptions; }));
  e.family("vllm:prefix_cache_queries_total", "counter",
           "Prompt tokens looked up in the prefix cache.",
           stat([](const EngineStats& s) { return s.scheduler.prefix_cache.query_tokens; }));
  e.family("vllm:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.",
           stat([](const EngineStats& s) { return s.scheduler.prefix_cache.hit_tokens; }));
  e.request_success();
  e.histogram(
      "vllm:time_to_first_token_seconds", "Time from arrival to the first token.",
      [](const ServerMetrics& s) -> const LatencyHistogram& { return s.time_to_first_token(); });
  e.histogram(
      "vllm:time_per_output_token_seconds", "Time between two tokens of a request.",
      [](const ServerMetrics& s) -> const LatencyHistogram& { return s.time_per_output_token(); });
  e.histogram(
      "vllm:e2e_request_latency_seconds", "Time from arrival to the last token.",
      [](const ServerMetrics& s) -> const LatencyHistogram& { return s.e2e_request_latency(); });
  e.histogram(
      "vllm:request_queue_time_seconds", "Time from arrival to the first step.",
      [](const ServerMetrics& s) -> const LatencyHistogram& { return s.request_queue_time(); });
  e.family("localmoe:num_requests_swapped", "gauge", "Requests swapped out to host memory.",
           stat([](const EngineStats& s) { return s.scheduler.num_swapped; }));
  e.family("localmoe:kv_cache_blocks", "gauge", "KV-cache blocks of the device pool.",
           stat([](const EngineStats& s) { return s.scheduler.num_blocks; }));
  e.family("localmoe:kv_cache_free_blocks", "gauge", "KV-cache blocks free (cached ones included).",
           stat([](const EngineStats& s) { return s.scheduler.num_free_blocks; }));
  e.family("localmoe:kv_cache_bytes", "gauge", "Bytes of KV-cache storage.",
           stat([](const EngineStats& s) { return s.kv_cache_bytes; }));
  e.family("localmoe:prefix_cache_evictions_total", "counter",
           "Cached blocks dropped to reuse the block.",
           stat([](const EngineStats& s) { return s.scheduler.prefix_cache.evictions; }));
  e.family("localmoe:requests_failed_total", "counter", "Requests the engine failed.",
           [](const ModelMetrics& m) { return static_cast<double>(m.observed->num_failed()); });
  e.family("localmoe:engine_steps_total", "counter", "Engine steps run.",
           stat([](const EngineStats& s) { return s.num_steps; }));
  return std::move(e).text();
}

}  // namespace localmoe
