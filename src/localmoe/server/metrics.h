#pragma once
// GET /metrics: the Prometheus text exposition (format 0.0.4) of every
// served model, with vLLM's metric names where the meaning is the same (so
// a vLLM Grafana dashboard reads it) and `localmoe:` names for the rest.
// Gauges and counters come from the engine's stats at render time; latency
// histograms from the requests each model finished (ServerMetrics).

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "localmoe/engine/engine.h"
#include "localmoe/server/latency_histogram.h"

namespace localmoe {

// What one model's finished requests add up to; fed by the HTTP routes.
class ServerMetrics {
 public:
  ServerMetrics();

  // The last output of a choice (it carries the finish reason or error and
  // the timings).
  void observe_finished(const RequestOutput& last);

  const LatencyHistogram& time_to_first_token() const { return time_to_first_token_; }
  const LatencyHistogram& time_per_output_token() const { return time_per_output_token_; }
  const LatencyHistogram& e2e_request_latency() const { return e2e_request_latency_; }
  const LatencyHistogram& request_queue_time() const { return request_queue_time_; }
  int64_t num_finished(FinishReason reason) const;
  int64_t num_failed() const { return num_failed_.load(std::memory_order_relaxed); }

 private:
  LatencyHistogram time_to_first_token_;
  LatencyHistogram time_per_output_token_;  // every gap between two tokens
  LatencyHistogram e2e_request_latency_;
  LatencyHistogram request_queue_time_;
  std::atomic<int64_t> num_finished_[3] = {0, 0, 0};  // by FinishReason
  std::atomic<int64_t> num_failed_{0};
};

struct ModelMetrics {
  std::string_view model_name;
  EngineStats stats;
  const ServerMetrics* observed = nullptr;
};

std::string render_prometheus(std::span<const ModelMetrics> models);

}  // namespace localmoe
