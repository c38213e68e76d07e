#pragma once
// A Prometheus-style histogram of latencies in seconds: cumulative bucket
// counts over fixed upper bounds, plus the count and sum. Observations come
// from many threads (each request's consumer) and are lock-free.

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace localmoe {

class LatencyHistogram {
 public:
  // `bounds`: increasing upper bounds in seconds; +Inf is implied.
  explicit LatencyHistogram(std::span<const double> bounds);
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void observe(double seconds);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<int64_t> cumulative;  // [bounds + 1]: observations <= each bound, then all
    double sum = 0.0;
  };
  Snapshot snapshot() const;

  // vLLM's buckets for time to first token, inter-token time and whole
  // requests (vllm/v1/metrics), so its Grafana dashboards read ours.
  static std::span<const double> time_to_first_token_bounds();
  static std::span<const double> inter_token_bounds();
  static std::span<const double> request_latency_bounds();

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<int64_t>> counts_;  // per bucket, not cumulative; last = past every bound
  std::atomic<int64_t> sum_micros_{0};
};

}  // namespace localmoe
