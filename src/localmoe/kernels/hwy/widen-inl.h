// Weights of every dense format widened to f32, shared by the matrix
// products of matmul_hwy.cc and gemm_hwy.cc. A Highway "-inl" header:
// included once per target by each foreach_target file, hence the toggling
// guard instead of #pragma once.

#if defined(LOCALMOE_KERNELS_HWY_WIDEN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOCALMOE_KERNELS_HWY_WIDEN_INL_H_
#undef LOCALMOE_KERNELS_HWY_WIDEN_INL_H_
#else
#define LOCALMOE_KERNELS_HWY_WIDEN_INL_H_
#endif

#include <bit>
#include <cstdint>

#include "hwy/highway.h"
#include "localmoe/base/dtype.h"

HWY_BEFORE_NAMESPACE();
namespace localmoe::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lanes(d) weights starting at p, as f32.
template <class D>
HWY_INLINE hn::Vec<D> load_as_f32(D d, const float* p) {
  return hn::LoadU(d, p);
}
template <class D>
HWY_INLINE hn::Vec<D> load_as_f32(D d, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(d, hn::LoadU(hn::Rebind<hwy::bfloat16_t, D>(), p));
}
template <class D>
HWY_INLINE hn::Vec<D> load_as_f32(D d, const hwy::float16_t* p) {
  return hn::PromoteTo(d, hn::LoadU(hn::Rebind<hwy::float16_t, D>(), p));
}

// One weight, for the tails shorter than a vector.
HWY_INLINE float scalar_as_f32(float v) {
  return v;
}
HWY_INLINE float scalar_as_f32(hwy::bfloat16_t v) {
  return bf16_to_f32(std::bit_cast<uint16_t>(v));
}
HWY_INLINE float scalar_as_f32(hwy::float16_t v) {
  return f16_to_f32(std::bit_cast<uint16_t>(v));
}

}  // namespace localmoe::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LOCALMOE_KERNELS_HWY_WIDEN_INL_H_
