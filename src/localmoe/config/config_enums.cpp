#include "localmoe/config/config_enums.h"

namespace localmoe {

WeightFormat weight_format_of(Quantization quantization) {
  switch (quantization) {
    case Quantization::kFp8: return WeightFormat::kFp8;
    case Quantization::kInt8: return WeightFormat::kInt8;
    case Quantization::kAwq: return WeightFormat::kAwq;
    case Quantization::kGptq: return WeightFormat::kGptq;
  }
  return WeightFormat::kNone;
}

int64_t kv_cache_dtype_size(KvCacheDtype dtype) {
  switch (dtype) {
    case KvCacheDtype::kAuto:
    case KvCacheDtype::kFp16:
    case KvCacheDtype::kBf16: return 2;
    case KvCacheDtype::kFp8E4M3:
    case KvCacheDtype::kFp8E5M2: return 1;
  }
  return 2;
}

}  // namespace localmoe
