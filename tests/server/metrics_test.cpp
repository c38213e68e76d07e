// The /metrics exposition: values from engine stats and finished requests,
// vLLM's names, and the whole text through the Prometheus reference parser.

#include "localmoe/server/metrics.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace localmoe {
namespace {

RequestOutput finished(FinishReason reason, double first_token, std::vector<double> gaps) {
  RequestOutput o;
  o.finish_reason = reason;
  o.timings.queued = 0.002;
  o.timings.first_token = first_token;
  o.timings.inter_token = std::move(gaps);
  o.timings.finished = 1.5;
  return o;
}

EngineStats stats(int64_t running, int64_t waiting) {
  EngineStats s;
  s.scheduler.num_running = running;
  s.scheduler.num_waiting = waiting;
  s.scheduler.kv_usage = 0.25;
  s.scheduler.num_prompt_tokens = 1200;
  s.scheduler.num_generated_tokens = 340;
  s.scheduler.prefix_cache.query_tokens = 1000;
  s.scheduler.prefix_cache.hit_tokens = 640;
  s.scheduler.num_blocks = 64;
  s.scheduler.num_free_blocks = 48;
  s.num_steps = 77;
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

TEST(LatencyHistogramTest, CumulativeBucketsCountAnObservationAtItsBound) {
  const double bounds[] = {0.1, 1.0};
  LatencyHistogram h(bounds);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(3.0);
  const LatencyHistogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_NEAR(s.sum, 3.6, 1e-6);
}

TEST(MetricsTest, RendersVllmNamesWithModelLabels) {
  ServerMetrics demo;
  demo.observe_finished(finished(FinishReason::kStop, 0.03, {0.02, 0.02, 0.3}));
  demo.observe_finished(finished(FinishReason::kLength, 0.7, {}));
  RequestOutput failed;
  failed.error = "out of memory";
  demo.observe_finished(failed);
  ServerMetrics other;
  const ModelMetrics models[] = {{"demo", stats(3, 1), &demo},
                                 {"a \"quoted\" name", stats(0, 0), &other}};
  const std::string text = render_prometheus(models);
  EXPECT_TRUE(has_line(text, "# TYPE vllm:num_requests_running gauge")) << text;
  EXPECT_TRUE(has_line(text, "vllm:num_requests_running{model_name=\"demo\"} 3"));
  EXPECT_TRUE(has_line(text, "vllm:num_requests_waiting{model_name=\"demo\"} 1"));
  EXPECT_TRUE(has_line(text, "vllm:kv_cache_usage_perc{model_name=\"demo\"} 0.25"));
  EXPECT_TRUE(has_line(text, "vllm:prompt_tokens_total{model_name=\"demo\"} 1200"));
  EXPECT_TRUE(has_line(text, "vllm:generation_tokens_total{model_name=\"demo\"} 340"));
  EXPECT_TRUE(has_line(text, "vllm:prefix_cache_queries_total{model_name=\"demo\"} 1000"));
  EXPECT_TRUE(has_line(text, "vllm:prefix_cache_hits_total{model_name=\"demo\"} 640"));
  EXPECT_TRUE(
      has_line(text, "vllm:request_success_total{model_name=\"demo\",finished_reason=\"stop\"} 1"));
  EXPECT_TRUE(has_line(
      text, "vllm:request_success_total{model_name=\"demo\",finished_reason=\"length\"} 1"));
  EXPECT_TRUE(has_line(text, "localmoe:requests_failed_total{model_name=\"demo\"} 1"));
  EXPECT_TRUE(
      has_line(text, "vllm:time_to_first_token_seconds_bucket{model_name=\"demo\",le=\"0.04\"} 1"));
  EXPECT_TRUE(
      has_line(text, "vllm:time_to_first_token_seconds_bucket{model_name=\"demo\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(text, "vllm:time_to_first_token_seconds_count{model_name=\"demo\"} 2"));
  EXPECT_TRUE(has_line(text, "vllm:time_per_output_token_seconds_count{model_name=\"demo\"} 3"));
  EXPECT_TRUE(has_line(
      text, "vllm:time_per_output_token_seconds_bucket{model_name=\"demo\",le=\"0.025\"} 2"));
  EXPECT_TRUE(has_line(text, "vllm:e2e_request_latency_seconds_sum{model_name=\"demo\"} 3"));
  EXPECT_TRUE(has_line(text, "localmoe:engine_steps_total{model_name=\"demo\"} 77"));
  EXPECT_TRUE(has_line(text, "vllm:num_requests_running{model_name=\"a \\\"quoted\\\" name\"} 0"));
  // Each family is declared once, with every model's samples under it.
  EXPECT_EQ(text.find("# TYPE vllm:num_requests_running"),
            text.rfind("# TYPE vllm:num_requests_running"));
}

TEST(MetricsTest, TheReferenceParserReadsIt) {
  ServerMetrics demo;
  demo.observe_finished(finished(FinishReason::kStop, 0.03, {0.02, 0.05}));
  const ModelMetrics models[] = {{"demo", stats(1, 2), &demo}};
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("metrics_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << render_prometheus(models);
  const std::string command = std::string(LOCALMOE_PYTHON) + " " + LOCALMOE_SOURCE_DIR +
                              "/tests/server/check_prometheus.py " + path.string() +
                              " vllm:num_requests_running vllm:num_requests_waiting"
                              " vllm:kv_cache_usage_perc vllm:prompt_tokens_total"
                              " vllm:generation_tokens_total vllm:prefix_cache_queries_total"
                              " vllm:prefix_cache_hits_total vllm:request_success_total"
                              " vllm:time_to_first_token_seconds"
                              " vllm:time_per_output_token_seconds"
                              " vllm:e2e_request_latency_seconds";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace localmoe
