#pragma once
// Internal to kernels/x86/: <immintrin.h> for the per-ISA translation units.
// GCC 12's AVX-512 headers start some intrinsics from a self-initialized
// "undefined" vector, which -Wall reports wherever they are inlined; the
// warnings are silenced for the header only.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
