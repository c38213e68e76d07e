// Feeds arbitrary bytes to the safetensors validator as a whole file. Errors
// are expected; crashes, sanitizer reports and tensors reaching outside the
// bytes are not.

#include <cstddef>
#include <cstdint>

#include "localmoe/base/error.h"
#include "localmoe/loader/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const localmoe::SafetensorsHeader header = localmoe::parse_safetensors({data, size}, "fuzz");
    volatile uint8_t sink = 0;
    for (const localmoe::TensorInfo& info : header.tensors) {
      LM_CHECK_LE(info.offset, size);
      LM_CHECK_LE(info.num_bytes, size - info.offset);
      LM_CHECK_EQ(static_cast<size_t>(info.shape.num_elements()) * localmoe::dtype_size(info.dtype),
                  info.num_bytes);
      // Reading the first and last byte lets ASan confirm the bounds.
      if (info.num_bytes > 0)
        sink = sink + data[info.offset] + data[info.offset + info.num_bytes - 1];
    }
  } catch (const localmoe::Error&) {
  }
  return 0;
}
