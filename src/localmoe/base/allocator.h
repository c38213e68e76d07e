#pragma once
// Every large buffer of the engine (repacked weights, KV cache, workspaces)
// comes from one Allocator, so memory statistics are exact rather than
// estimated. Buffers are 64-byte aligned; large ones are page-backed and
// advised for transparent huge pages, which cuts TLB misses when decode
// streams gigabytes of weights per token.

#include <array>
#include <atomic>
#include <cstddef>
#include <string_view>

namespace localmoe {

enum class MemoryCategory { kWeights, kKvCache, kWorkspace, kOther };
inline constexpr int kNumMemoryCategories = 4;
std::string_view memory_category_name(MemoryCategory category);

class Allocator;

// Owns one allocation; move-only. Its bytes are zero-initialised.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(AlignedBuffer&& other) noexcept { *this = std::move(other); }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }

  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t size() const { return size_; }
  bool empty() const { return data_ == nullptr; }

 private:
  friend class Allocator;
  void release();

  void* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_size_ = 0;  // non-zero when the memory came from mmap
  MemoryCategory category_ = MemoryCategory::kOther;
  Allocator* owner_ = nullptr;
};

class Allocator {
 public:
  Allocator() = default;
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Throws Error(kIo) when the system refuses the memory.
  AlignedBuffer allocate(size_t bytes, MemoryCategory category);

  size_t bytes_in_use(MemoryCategory category) const {
    return in_use_[static_cast<int>(category)].load(std::memory_order_relaxed);
  }
  size_t bytes_in_use_total() const;

 private:
  friend class AlignedBuffer;
  void on_release(MemoryCategory category, size_t bytes) {
    in_use_[static_cast<int>(category)].fetch_sub(bytes, std::memory_order_relaxed);
  }

  std::array<std::atomic<size_t>, kNumMemoryCategories> in_use_{};
};

}  // namespace localmoe
