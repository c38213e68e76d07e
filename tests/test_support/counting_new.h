#pragma once
// Heap allocations counted, for the tests that prove a hot path allocates
// nothing: a binary that compiles counting_new.cpp replaces the global
// operator new with one that counts, and reads the count here.

#include <cstdint>

namespace localmoe::test {

// Calls to operator new in this process so far.
int64_t heap_allocations();

}  // namespace localmoe::test
