#include "localmoe/loader/checkpoint.h"

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "loader/expect_error.h"
#include "loader/safetensors_writer.h"
#include "localmoe/loader/sharded_checkpoint.h"

namespace localmoe {
namespace {

using testing::byte_ramp;
using testing::expect_error;
using testing::make_safetensors;
using testing::TempDir;
using testing::write_file;
using testing::write_text_file;

class CheckpointTest : public ::testing::Test {
 protected:
  // Two shards: shard 1 holds "a" and "b", shard 2 holds "c".
  void write_sharded(std::string_view index_json) {
    write_file(dir_.file("model-00001-of-00002.safetensors"),
               make_safetensors(
                   {{"a", "F32", {2}, byte_ramp(8, 10)}, {"b", "U8", {3}, byte_ramp(3, 20)}}));
    write_file(dir_.file("model-00002-of-00002.safetensors"),
               make_safetensors({{"c", "F16", {2, 2}, byte_ramp(8, 30)}}));
    write_text_file(dir_.file("model.safetensors.index.json"), index_json);
  }

  static constexpr std::string_view kIndex = R"({
    "metadata": {"total_size": 19},
    "weight_map": {"a": "model-00001-of-00002.safetensors",
                   "b": "model-00001-of-00002.safetensors",
                   "c": "model-00002-of-00002.safetensors"}})";

  TempDir dir_;
};

TEST_F(CheckpointTest, DirectoryWithSingleFile) {
  write_file(dir_.file("model.safetensors"), make_safetensors({{"w", "F32", {1}, byte_ramp(4)}}));
  const auto source = open_checkpoint(dir_.path().string());
  EXPECT_EQ(source->names(), std::vector<std::string>{"w"});
  EXPECT_EQ(source->description(), dir_.file("model.safetensors"));
}

TEST_F(CheckpointTest, PathToSingleFile) {
  const std::string path = dir_.file("tiny.safetensors");
  write_file(path, make_safetensors({{"w", "F32", {1}, byte_ramp(4)}}));
  EXPECT_EQ(open_checkpoint(path)->names(), std::vector<std::string>{"w"});
}

TEST_F(CheckpointTest, ShardedDirectory) {
  write_sharded(kIndex);
  const auto source = open_checkpoint(dir_.path().string());
  EXPECT_EQ(source->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(source->description(), dir_.file("model.safetensors.index.json"));
  const auto* sharded = dynamic_cast<const ShardedCheckpoint*>(source.get());
  ASSERT_NE(sharded, nullptr);
  EXPECT_EQ(sharded->num_shards(), 2u);

  const TensorInfo* c = source->find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->file, dir_.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(c->shape, (Shape{2, 2}));
  const std::vector<uint8_t> expected = byte_ramp(8, 30);
  EXPECT_EQ(std::memcmp(source->view("c").data, expected.data(), expected.size()), 0);
  EXPECT_EQ(source->find("z"), nullptr);
  expect_error([&] { source->view("z"); }, ErrorKind::kNotFound, {"'z'", "index.json"});
}

TEST_F(CheckpointTest, PathToIndexFile) {
  write_sharded(kIndex);
  EXPECT_EQ(open_checkpoint(dir_.file("model.safetensors.index.json"))->names().size(), 3u);
}

TEST_F(CheckpointTest, SingleFilePreferredOverIndex) {
  write_sharded(kIndex);
  write_file(dir_.file("model.safetensors"), make_safetensors({{"w", "F32", {1}, byte_ramp(4)}}));
  EXPECT_EQ(open_checkpoint(dir_.path().string())->names(), std::vector<std::string>{"w"});
}

TEST_F(CheckpointTest, MissingShardNamesIndexShardAndTensor) {
  write_sharded(R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                   "d": "model-00003-of-00003.safetensors"}})");
  expect_error([&] { open_checkpoint(dir_.path().string()); }, ErrorKind::kNotFound,
               {"file '" + dir_.file("model.safetensors.index.json") + "'", "tensor 'd'",
                dir_.file("model-00003-of-00003.safetensors")});
}

TEST_F(CheckpointTest, TensorMissingFromItsShardNamesBoth) {
  write_sharded(R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                   "c": "model-00001-of-00002.safetensors"}})");
  expect_error([&] { open_checkpoint(dir_.path().string()); }, ErrorKind::kNotFound,
               {"tensor 'c'", "listed in shard '" + dir_.file("model-00001-of-00002.safetensors") +
                                  "', which does not hold it"});
}

TEST_F(CheckpointTest, CorruptShardNamesTheShard) {
  write_sharded(kIndex);
  write_file(dir_.file("model-00002-of-00002.safetensors"), {1, 2});
  expect_error([&] { open_checkpoint(dir_.path().string()); }, ErrorKind::kCorrupt,
               {"file '" + dir_.file("model-00002-of-00002.safetensors") + "'", "too short"});
}

TEST_F(CheckpointTest, MalformedIndex) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "the index is not a JSON object"},
      {"{}", "missing 'weight_map'"},
      {R"({"weight_map": []})", "'weight_map' is not an object"},
      {R"({"weight_map": {"a": 1}})", "'weight_map' entry for tensor 'a' holds number"},
      {R"({"weight_map": {"a": "../model.safetensors"}})", "names shard '../model.safetensors'"},
      {R"({"weight_map": {"a": "/etc/passwd"}})", "names shard '/etc/passwd'"},
  };
  for (const auto& [index, message] : cases) {
    SCOPED_TRACE(index);
    write_text_file(dir_.file("model.safetensors.index.json"), index);
    expect_error([&] { open_checkpoint(dir_.path().string()); }, ErrorKind::kCorrupt,
                 {"file '" + dir_.file("model.safetensors.index.json") + "'", message});
  }
}

TEST_F(CheckpointTest, EmptyDirectoryAndMissingPath) {
  expect_error([&] { open_checkpoint(dir_.path().string()); }, ErrorKind::kNotFound,
               {dir_.path().string(), "model.safetensors", "model.safetensors.index.json"});
  const std::string absent = dir_.file("nowhere");
  expect_error([&] { open_checkpoint(absent); }, ErrorKind::kNotFound, {absent, "does not exist"});
}

}  // namespace
}  // namespace localmoe
