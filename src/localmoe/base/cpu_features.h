#pragma once
// What the CPU and the operating system allow us to execute, read once via
// CPUID/XGETBV. Kernels pick their variants from this at start-up; nothing
// is assumed from the build machine.

#include <string>

namespace localmoe {

// Who designed the cores: kernels tune memory streaming by it (hardware
// prefetchers differ by vendor, not by ISA).
enum class CpuVendor { kOther, kIntel, kAmd };

struct CpuFeatures {
  CpuVendor vendor = CpuVendor::kOther;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avx512fp16 = false;
  bool amx_tile = false;
  bool amx_bf16 = false;
  bool amx_int8 = false;
  // Linux lets this process use the AMX tile data (its state is off by
  // default and granted on request by arch_prctl(ARCH_REQ_XCOMP_PERM), Linux
  // 5.16 on); asked once at detection where the CPU has AMX. Without it the
  // first tile instruction faults.
  bool amx_permitted = false;

  // "avx2 fma f16c avx512f avx512bw ..." (only the present ones).
  std::string to_string() const;
  // The vendor, then the features: "intel avx2 fma ...".
  std::string describe() const;
};

// Detected once; later calls return the cached result.
const CpuFeatures& cpu_features();

}  // namespace localmoe
