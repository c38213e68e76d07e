#pragma once
// What the advisor and the validator know about devices: published datasheet
// figures for the GPUs the seeds discuss and their neighbours, and the local
// CPU as measured (cores, ISA, RAM, a short read-bandwidth probe).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace localmoe {

struct HardwareSpec {
  std::string id;    // "l40s", "h100_sxm", "cpu"
  std::string name;  // "NVIDIA L40S"
  bool is_cpu = false;
  // Memory one device offers to processes, bytes (datasheet size less ECC carve-out).
  int64_t memory_bytes = 0;
  // Peak memory bandwidth per device, GB/s (10^9 bytes).
  double bandwidth_gb_s = 0.0;
  // Dense (no sparsity) tensor throughput, TFLOPS; 0 = unknown (bandwidth roof only).
  double fp16_tflops = 0.0;
  double fp8_tflops = 0.0;
  // FP8 tensor cores (Ada, Hopper): FP8 weights run at FP8 speed, not via upcasting.
  bool native_fp8 = false;
  // Device-to-device link, for the tensor-parallel note.
  std::string interconnect;
  // Memory the runtime takes before the engine allocates anything (CUDA context,
  // cuBLAS / NCCL workspaces). An assumption, see docs/advisor.md.
  int64_t runtime_overhead_bytes = 0;
  // CPU only: hardware threads and the ISA extensions found.
  int64_t cores = 0;
  std::string isa;
  std::string source;  // where the numbers come from
};

// The GPUs, in the order `advise --hardware` lists them.
const std::vector<HardwareSpec>& gpu_database();

// Ids accepted by find_hardware: the GPU ids, then "cpu".
std::vector<std::string> hardware_ids();

// A GPU by id (case-insensitive, "-" and "_" alike), or the probed local CPU
// for "cpu". nullopt for an unknown id.
std::optional<HardwareSpec> find_hardware(std::string_view id);

// find_hardware for an id a user gave: throws Error(kInvalidArgument) for an
// unknown one, naming the closest known id and all of them.
HardwareSpec hardware_by_id(std::string_view id);

// The local machine: cores, ISA, physical RAM, and a read bandwidth measured
// over `probe_bytes` (best of a few passes with one thread per core).
HardwareSpec probe_local_cpu(int64_t probe_bytes = int64_t{256} << 20);

// Physical RAM of this machine, bytes.
int64_t local_ram_bytes();

}  // namespace localmoe
