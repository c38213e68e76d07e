#pragma once
// A checkpoint split over several safetensors shards, tied together by a
// model.safetensors.index.json whose "weight_map" names each tensor's shard.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "localmoe/loader/safetensors.h"

namespace localmoe {

class ShardedCheckpoint : public TensorSource {
 public:
  // Reads the index at `index_path`, maps every shard it names once (shards
  // are resolved beside the index) and checks that each listed tensor is in
  // its shard. Throws Error naming the index, the shard and the tensor.
  static std::unique_ptr<ShardedCheckpoint> open(const std::string& index_path);

  std::vector<std::string> names() const override;
  const TensorInfo* find(std::string_view name) const override;
  TensorView view(std::string_view name) const override;
  const std::string& description() const override { return index_path_; }

  size_t num_shards() const { return shards_.size(); }

 private:
  explicit ShardedCheckpoint(std::string index_path) : index_path_(std::move(index_path)) {}

  std::string index_path_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  // tensor name -> the shard that holds it (an element of shards_)
  std::map<std::string, const SafetensorsFile*, std::less<>> shard_of_;
};

}  // namespace localmoe
