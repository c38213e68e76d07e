#include "localmoe/base/allocator.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {
constexpr size_t kAlignment = 64;
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

std::string_view memory_category_name(MemoryCategory category) {
  switch (category) {
    case MemoryCategory::kWeights: return "weights";
    case MemoryCategory::kKvCache: return "kv_cache";
    case MemoryCategory::kWorkspace: return "workspace";
    case MemoryCategory::kOther: return "other";
  }
  return "other";
}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_size_ = std::exchange(other.mapped_size_, 0);
    category_ = other.category_;
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void AlignedBuffer::release() {
  if (data_ == nullptr) return;
  if (mapped_size_ != 0) {
    munmap(data_, mapped_size_);
  } else {
    std::free(data_);
  }
  if (owner_ != nullptr) owner_->on_release(category_, size_);
  data_ = nullptr;
  size_ = 0;
  mapped_size_ = 0;
  owner_ = nullptr;
}

AlignedBuffer Allocator::allocate(size_t bytes, MemoryCategory category) {
  AlignedBuffer buffer;
  if (bytes == 0) return buffer;
  if (bytes >= kHugePage) {
    // Anonymous mappings are zeroed by the kernel and page-aligned; huge
    // pages are a hint the kernel may ignore.
    const size_t mapped = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      throw make_error(ErrorKind::kIo, "cannot allocate ", bytes, " bytes for ",
                       memory_category_name(category), ": ", std::strerror(errno));
    }
    madvise(p, mapped, MADV_HUGEPAGE);
    buffer.data_ = p;
    buffer.mapped_size_ = mapped;
  } else {
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) {
      throw make_error(ErrorKind::kIo, "cannot allocate ", bytes, " bytes for ",
                       memory_category_name(category));
    }
    std::memset(p, 0, rounded);
    buffer.data_ = p;
  }
  buffer.size_ = bytes;
  buffer.category_ = category;
  buffer.owner_ = this;
  in_use_[static_cast<int>(category)].fetch_add(bytes, std::memory_order_relaxed);
  return buffer;
}

size_t Allocator::bytes_in_use_total() const {
  size_t total = 0;
  for (const auto& counter : in_use_) total += counter.load(std::memory_order_relaxed);
  return total;
}

}  // namespace localmoe
