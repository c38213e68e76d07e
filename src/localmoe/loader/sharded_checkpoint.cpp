#include "localmoe/loader/sharded_checkpoint.h"

#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/base/mmap_file.h"

namespace localmoe {
namespace {

using nlohmann::json;

// The "weight_map" of an index: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const MappedFile file = MappedFile::open(index_path);
  const std::string text(reinterpret_cast<const char*>(file.data()), file.size());
  json index;
  try {
    index = json::parse(text);
  } catch (const json::exception& e) {
    throw make_error(ErrorKind::kCorrupt, "not valid JSON: ", e.what());
  }
  if (!index.is_object()) throw make_error(ErrorKind::kCorrupt, "the index is not a JSON object");
  const auto map_it = index.find("weight_map");
  if (map_it == index.end()) throw make_error(ErrorKind::kCorrupt, "missing 'weight_map'");
  if (!map_it->is_object()) throw make_error(ErrorKind::kCorrupt, "'weight_map' is not an object");

  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : map_it->items()) {
    if (!shard.is_string()) {
      throw make_error(ErrorKind::kCorrupt, "'weight_map' entry for tensor '", name, "' holds ",
                       shard.type_name(), ", not a shard file name");
    }
    const std::filesystem::path shard_path(shard.get<std::string>());
    bool escapes = shard_path.empty() || shard_path.is_absolute();
    for (const auto& part : shard_path) escapes |= part == "..";
    if (escapes) {
      throw make_error(ErrorKind::kCorrupt, "'weight_map' entry for tensor '", name,
                       "' names shard '", shard_path.string(), "', not a file beside the index");
    }
    weight_map.emplace(name, shard_path.string());
  }
  return weight_map;
}

}  // namespace

std::unique_ptr<ShardedCheckpoint> ShardedCheckpoint::open(const std::string& index_path) {
  std::unique_ptr<ShardedCheckpoint> checkpoint(new ShardedCheckpoint(index_path));
  const std::filesystem::path dir = std::filesystem::path(index_path).parent_path();
  std::map<std::string, const SafetensorsFile*> opened;  // shard name -> its file
  try {
    for (const auto& [name, shard_name] : read_weight_map(index_path)) {
      auto it = opened.find(shard_name);
      if (it == opened.end()) {
        try {
          checkpoint->shards_.push_back(SafetensorsFile::open((dir / shard_name).string()));
        } catch (Error& e) {
          if (e.kind() == ErrorKind::kNotFound) e.with_context("tensor '" + name + "'");
          throw;
        }
        it = opened.emplace(shard_name, checkpoint->shards_.back().get()).first;
      }
      if (it->second->find(name) == nullptr) {
        throw make_error(ErrorKind::kNotFound, "listed in shard '", it->second->description(),
                         "', which does not hold it")
            .with_context("tensor '" + name + "'");
      }
      checkpoint->shard_of_.emplace(name, it->second);
    }
  } catch (Error& e) {
    e.with_context("file '" + index_path + "'");
    throw;
  }
  return checkpoint;
}

std::vector<std::string> ShardedCheckpoint::names() const {
  std::vector<std::string> names;
  names.reserve(shard_of_.size());
  for (const auto& entry : shard_of_) names.push_back(entry.first);
  return names;
}

const TensorInfo* ShardedCheckpoint::find(std::string_view name) const {
  const auto it = shard_of_.find(name);
  return it == shard_of_.end() ? nullptr : it->second->find(name);
}

TensorView ShardedCheckpoint::view(std::string_view name) const {
  const auto it = shard_of_.find(name);
  if (it == shard_of_.end()) {
    throw make_error(ErrorKind::kNotFound, "no tensor '", name, "' in '", index_path_, "'");
  }
  return it->second->view(name);
}

}  // namespace localmoe
