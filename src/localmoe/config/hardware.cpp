#include "localmoe/config/hardware.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "localmoe/base/cpu_features.h"
#include "localmoe/base/error.h"
#include "localmoe/config/config_diagnostic.h"

namespace localmoe {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
// CUDA context plus cuBLAS and NCCL workspaces per GPU process: vLLM accounts
// this as "non-torch memory"; 1 GiB is a conservative round figure.
constexpr int64_t kGpuRuntimeOverhead = kGiB;

HardwareSpec gpu(std::string id, std::string name, int64_t memory_bytes, double bandwidth,
                 double fp16, double fp8, std::string interconnect, std::string source) {
  HardwareSpec h;
  h.id = std::move(id);
  h.name = std::move(name);
  h.memory_bytes = memory_bytes;
  h.bandwidth_gb_s = bandwidth;
  h.fp16_tflops = fp16;
  h.fp8_tflops = fp8;
  h.native_fp8 = fp8 > 0;
  h.interconnect = std::move(interconnect);
  h.runtime_overhead_bytes = kGpuRuntimeOverhead;
  h.source = std::move(source);
  return h;
}

std::string normalize_id(std::string_view id) {
  std::string out;
  for (char c : id)
    out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "CPU";
}

// Sums a slice with four independent accumulators so the loads, not the adds,
// bound the loop. The result is returned so the reads cannot be elided.
uint64_t read_slice(const uint64_t* data, size_t count) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    s0 += data[i];
    s1 += data[i + 1];
    s2 += data[i + 2];
    s3 += data[i + 3];
  }
  for (; i < count; ++i) s0 += data[i];
  return s0 + s1 + s2 + s3;
}

double measure_read_bandwidth(int64_t bytes, int threads) {
  const size_t count = static_cast<size_t>(bytes) / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[count]);
  for (size_t i = 0; i < count; ++i) buffer[i] = i;  // fault every page in before timing
  double best_seconds = 1e30;
  std::vector<uint64_t> sums(threads);
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    const size_t slice = count / threads;
    for (int t = 0; t < threads; ++t) {
      const size_t begin = t * slice;
      const size_t end = t + 1 == threads ? count : begin + slice;
      workers.emplace_back(
          [&, t, begin, end] { sums[t] = read_slice(buffer.get() + begin, end - begin); });
    }
    for (std::thread& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best_seconds = std::min(best_seconds, seconds);
  }
  uint64_t total = 0;
  for (uint64_t s : sums) total += s;
  // The sum of 0..count-1 is known: a wrong one means the probe read garbage.
  const uint64_t n = count;
  if (total != n * (n - 1) / 2) return 0.0;
  return static_cast<double>(count * sizeof(uint64_t)) / best_seconds / 1e9;
}

}  // namespace

const std::vector<HardwareSpec>& gpu_database() {
  static const std::vector<HardwareSpec> kGpus{
      // NVIDIA L40S datasheet: 48 GB GDDR6 with ECC, 864 GB/s, FP16 tensor 362.05 TFLOPS and
      // FP8 733 TFLOPS dense (twice that with sparsity), PCIe Gen4 x16, no NVLink. With ECC on
      // (the data-center default) 1/16 of GDDR6 holds check bits: nvidia-smi shows 46068 MiB.
      gpu("l40s", "NVIDIA L40S", 46068 * kMiB, 864, 362.05, 733,
          "PCIe 4.0 x16 (64 GB/s), no NVLink", "NVIDIA L40S datasheet"),
      // NVIDIA A100 datasheet: 40 GB HBM2 at 1,555 GB/s; FP16 tensor 312 TFLOPS dense; no FP8.
      gpu("a100_40gb", "NVIDIA A100 40GB SXM", 40960 * kMiB, 1555, 312, 0, "NVLink 3 (600 GB/s)",
          "NVIDIA A100 datasheet"),
      // NVIDIA A100 datasheet: 80 GB HBM2e at 2,039 GB/s (SXM); FP16 tensor 312 TFLOPS dense.
      gpu("a100_80gb", "NVIDIA A100 80GB SXM", 81920 * kMiB, 2039, 312, 0, "NVLink 3 (600 GB/s)",
          "NVIDIA A100 datasheet"),
      // NVIDIA H100 datasheet (SXM): 80 GB HBM3 at 3.35 TB/s; FP16 989 / FP8 1,979 TFLOPS dense.
      gpu("h100_sxm", "NVIDIA H100 SXM", 81559 * kMiB, 3350, 989, 1979, "NVLink 4 (900 GB/s)",
          "NVIDIA H100 datasheet"),
      // NVIDIA H100 datasheet (PCIe): 80 GB HBM2e at 2 TB/s; FP16 756 / FP8 1,513 TFLOPS dense.
      gpu("h100_pcie", "NVIDIA H100 PCIe", 81559 * kMiB, 2000, 756, 1513, "PCIe 5.0 x16 (128 GB/s)",
          "NVIDIA H100 datasheet"),
      // NVIDIA H200 datasheet (SXM): 141 GB HBM3e at 4.8 TB/s; FP16 989 / FP8 1,979 TFLOPS dense.
      gpu("h200", "NVIDIA H200 SXM", 143771 * kMiB, 4800, 989, 1979, "NVLink 4 (900 GB/s)",
          "NVIDIA H200 datasheet"),
      // NVIDIA Ada architecture whitepaper, appendix A: RTX 4090 24 GB GDDR6X at 1,008 GB/s;
      // FP16 tensor with FP32 accumulate 165.2 TFLOPS, FP8 330.3 TFLOPS dense. ECC off.
      gpu("rtx4090", "NVIDIA GeForce RTX 4090", 24564 * kMiB, 1008, 165.2, 330.3,
          "PCIe 4.0 x16 (64 GB/s)", "NVIDIA Ada GPU architecture whitepaper"),
      // NVIDIA L4 datasheet: 24 GB GDDR6 at 300 GB/s; FP16 121 / FP8 242.5 TFLOPS dense.
      // With ECC on, nvidia-smi shows 23034 MiB.
      gpu("l4", "NVIDIA L4", 23034 * kMiB, 300, 121, 242.5, "PCIe 4.0 x16 (64 GB/s)",
          "NVIDIA L4 datasheet"),
  };
  return kGpus;
}

std::vector<std::string> hardware_ids() {
  std::vector<std::string> ids;
  for (const HardwareSpec& h : gpu_database()) ids.push_back(h.id);
  ids.emplace_back("cpu");
  return ids;
}

std::optional<HardwareSpec> find_hardware(std::string_view id) {
  const std::string wanted = normalize_id(id);
  if (wanted == "cpu") return probe_local_cpu();
  for (const HardwareSpec& h : gpu_database()) {
    if (h.id == wanted) return h;
  }
  return std::nullopt;
}

HardwareSpec hardware_by_id(std::string_view id) {
  if (std::optional<HardwareSpec> hw = find_hardware(id)) return *hw;
  const std::vector<std::string> ids = hardware_ids();
  std::string known;
  for (const std::string& name : ids) known += (known.empty() ? "" : ", ") + name;
  const std::string near = closest_match(normalize_id(id), ids);
  throw make_error(ErrorKind::kInvalidArgument, "unknown hardware '", id, "'",
                   near.empty() ? "" : "; did you mean '" + near + "'?", " (known: ", known, ")");
}

int64_t local_ram_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
}

HardwareSpec probe_local_cpu(int64_t probe_bytes) {
  HardwareSpec h;
  h.id = "cpu";
  h.name = cpu_model_name();
  h.is_cpu = true;
  h.memory_bytes = local_ram_bytes();
  h.cores = std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN));
  h.isa = cpu_features().to_string();
  h.interconnect = "shared memory";
  h.bandwidth_gb_s =
      measure_read_bandwidth(std::max<int64_t>(probe_bytes, kMiB), static_cast<int>(h.cores));
  h.source =
      "measured on this machine (read probe over " + std::to_string(probe_bytes >> 20) + " MiB)";
  return h;
}

}  // namespace localmoe
