#include "localmoe/base/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace localmoe {
namespace {

#if defined(__x86_64__) || defined(__i386__)
struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

// Which register states the OS saves on context switch (XCR0).
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

bool bit(uint32_t reg, int index) {
  return (reg >> index) & 1u;
}

// Asks Linux for the AMX tile data state for every thread of the process;
// false where the kernel refuses or predates the request (before 5.16).
bool request_amx_permission() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr int kArchReqXcompPerm = 0x1023;  // <asm/prctl.h>
  constexpr int kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  const CpuidRegs leaf0 = cpuid(0, 0);
  const uint32_t max_leaf = leaf0.eax;
  // The vendor string is EBX, EDX, ECX: "GenuineIntel" or "AuthenticAMD".
  if (leaf0.ebx == 0x756e6547 && leaf0.edx == 0x49656e69 && leaf0.ecx == 0x6c65746e) {
    f.vendor = CpuVendor::kIntel;
  } else if (leaf0.ebx == 0x68747541 && leaf0.edx == 0x69746e65 && leaf0.ecx == 0x444d4163) {
    f.vendor = CpuVendor::kAmd;
  }
  if (max_leaf < 1) return f;
  const CpuidRegs leaf1 = cpuid(1, 0);
  if (!bit(leaf1.ecx, 27) || !bit(leaf1.ecx, 28)) return f;  // no OSXSAVE or no AVX
  const uint64_t xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;
  f.fma = os_avx && bit(leaf1.ecx, 12);
  f.f16c = os_avx && bit(leaf1.ecx, 29);
  if (max_leaf < 7) return f;
  const CpuidRegs leaf7 = cpuid(7, 0);
  const CpuidRegs leaf7_1 = cpuid(7, 1);
  f.avx2 = os_avx && bit(leaf7.ebx, 5);
  f.avx512f = os_avx512 && bit(leaf7.ebx, 16);
  f.avx512bw = f.avx512f && bit(leaf7.ebx, 30);
  f.avx512vl = f.avx512f && bit(leaf7.ebx, 31);
  f.avx512vnni = f.avx512f && bit(leaf7.ecx, 11);
  f.avx512fp16 = f.avx512f && bit(leaf7.edx, 23);
  f.avx512bf16 = f.avx512f && bit(leaf7_1.eax, 5);
  f.amx_tile = os_amx && bit(leaf7.edx, 24);
  f.amx_bf16 = f.amx_tile && bit(leaf7.edx, 22);
  f.amx_int8 = f.amx_tile && bit(leaf7.edx, 25);
  f.amx_permitted = f.amx_tile && request_amx_permission();
  return f;
}
#else
CpuFeatures detect() {
  return {};
}
#endif

}  // namespace

std::string CpuFeatures::to_string() const {
  std::string out;
  auto add = [&out](bool present, const char* name) {
    if (!present) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx512fp16, "avx512fp16");
  add(amx_tile, "amx-tile");
  add(amx_bf16, "amx-bf16");
  add(amx_int8, "amx-int8");
  add(amx_permitted, "amx-permitted");
  return out.empty() ? std::string("none") : out;
}

std::string CpuFeatures::describe() const {
  const char* vendor_name = vendor == CpuVendor::kIntel ? "intel"
                            : vendor == CpuVendor::kAmd ? "amd"
                                                        : "other";
  return std::string(vendor_name) + " " + to_string();
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures kFeatures = detect();
  return kFeatures;
}

}  // namespace localmoe
