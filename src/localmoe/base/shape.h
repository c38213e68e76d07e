#pragma once
// The dimensions of a tensor, outermost first, by value and without heap
// allocation (rank <= 4 covers every tensor of the models we serve).

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "localmoe/base/error.h"

namespace localmoe {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    LM_CHECK_LE(static_cast<int>(dims.size()), kMaxRank);
    for (int64_t d : dims) dims_[rank_++] = d;
  }

  int rank() const { return rank_; }
  int64_t operator[](int axis) const {
    LM_DCHECK(axis >= 0 && axis < rank_);
    return dims_[axis];
  }
  int64_t num_elements() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  // Appends a dimension; false when the rank would exceed kMaxRank.
  bool push_back(int64_t dim) {
    if (rank_ == kMaxRank) return false;
    dims_[rank_++] = dim;
    return true;
  }

  bool operator==(const Shape& other) const {
    if (rank_ != other.rank_) return false;
    for (int i = 0; i < rank_; ++i) {
      if (dims_[i] != other.dims_[i]) return false;
    }
    return true;
  }

  // "[4096, 11008]"
  std::string to_string() const {
    std::string out = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) out += ", ";
      out += std::to_string(dims_[i]);
    }
    return out + "]";
  }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace localmoe
