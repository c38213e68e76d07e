#include "localmoe/server/latency_histogram.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

constexpr std::array<double, 22> kFirstToken = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                                0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                                20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
constexpr std::array<double, 18> kInterToken = {0.01, 0.025, 0.05, 0.075, 0.1,  0.15,
                                                0.2,  0.3,   0.4,  0.5,   0.75, 1.0,
                                                2.5,  5.0,   7.5,  10.0,  20.0, 40.0};
constexpr std::array<double, 20> kRequest = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,   2.5,
                                             5.0,  10.0,  15.0,  20.0,  30.0,  40.0,  50.0,
                                             60.0, 120.0, 240.0, 480.0, 960.0, 1920.0};

}  // namespace

LatencyHistogram::LatencyHistogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()), counts_(bounds.size() + 1) {
  LM_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()));
}

void LatencyHistogram::observe(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(std::llround(seconds * 1e6), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(counts_.size());
  int64_t total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

std::span<const double> LatencyHistogram::time_to_first_token_bounds() {
  return kFirstToken;
}
std::span<const double> LatencyHistogram::inter_token_bounds() {
  return kInterToken;
}
std::span<const double> LatencyHistogram::request_latency_bounds() {
  return kRequest;
}

}  // namespace localmoe
