#include "localmoe/loader/safetensors.h"

#include <cstring>

#include <gtest/gtest.h>

#include "loader/expect_error.h"
#include "loader/safetensors_writer.h"

namespace localmoe {
namespace {

using testing::byte_ramp;
using testing::expect_error;
using testing::make_raw_safetensors;
using testing::make_safetensors;
using testing::TempDir;
using testing::write_file;

class SafetensorsTest : public ::testing::Test {
 protected:
  // Writes `bytes` to <tmp>/<name> and opens it, expecting an Error of `kind`
  // that names the file and every part.
  void expect_open_error(const std::vector<uint8_t>& bytes, ErrorKind kind,
                         std::initializer_list<std::string_view> parts,
                         std::string_view name = "broken.safetensors") {
    const std::string path = dir_.file(name);
    write_file(path, bytes);
    const std::string text = expect_error([&] { SafetensorsFile::open(path); }, kind, parts);
    EXPECT_NE(text.find("file '" + path + "'"), std::string::npos) << text;
  }

  TempDir dir_;
};

TEST_F(SafetensorsTest, ValidFileRoundTrips) {
  const std::vector<uint8_t> weight = byte_ramp(2 * 3 * 4, 1);
  const std::vector<uint8_t> bias = byte_ramp(3 * 2, 100);
  const std::vector<uint8_t> flags = byte_ramp(4, 7);
  const std::string path = dir_.file("model.safetensors");
  write_file(path, make_safetensors({{"layer.weight", "F32", {2, 3}, weight},
                                     {"layer.bias", "BF16", {3}, bias},
                                     {"empty", "F16", {0, 5}, {}},
                                     {"flags", "U8", {1, 1, 2, 2}, flags}},
                                    {{"format", "pt"}}));

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->description(), path);
  EXPECT_EQ(file->names(),
            (std::vector<std::string>{"empty", "flags", "layer.bias", "layer.weight"}));
  EXPECT_EQ(file->metadata().at("format"), "pt");

  const TensorInfo* info = file->find("layer.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype, DType::kF32);
  EXPECT_EQ(info->shape, (Shape{2, 3}));
  EXPECT_EQ(info->num_bytes, weight.size());
  EXPECT_EQ(info->file, path);
  EXPECT_EQ(file->find("layer.bias")->dtype, DType::kBF16);
  EXPECT_EQ(file->find("flags")->shape, (Shape{1, 1, 2, 2}));
  EXPECT_EQ(file->find("nope"), nullptr);

  const TensorView w = file->view("layer.weight");
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(w.data, weight.data(), weight.size()), 0);
  // The view points into the mapping at the recorded absolute offset.
  EXPECT_EQ(static_cast<const uint8_t*>(w.data), file->mapping().data() + info->offset);
  const TensorView b = file->view("layer.bias");
  EXPECT_EQ(std::memcmp(b.data, bias.data(), bias.size()), 0);
  const TensorView f = file->view("flags");
  EXPECT_EQ(std::memcmp(f.data, flags.data(), flags.size()), 0);
  EXPECT_EQ(file->view("empty").num_elements(), 0);
}

TEST_F(SafetensorsTest, ParsesFromMemoryWithTheSameRules) {
  const std::vector<uint8_t> bytes = make_safetensors({{"x", "I32", {2}, byte_ramp(8)}});
  const SafetensorsHeader header = parse_safetensors(bytes, "mem");
  ASSERT_EQ(header.tensors.size(), 1u);
  EXPECT_EQ(header.tensors[0].name, "x");
  EXPECT_EQ(header.tensors[0].offset, header.data_offset);
  EXPECT_EQ(header.data_offset, bytes.size() - 8);
}

TEST_F(SafetensorsTest, ViewOfUnknownTensorIsNotFound) {
  const std::string path = dir_.file("model.safetensors");
  write_file(path, make_safetensors({{"x", "F32", {1}, byte_ramp(4)}}));
  const auto file = SafetensorsFile::open(path);
  expect_error([&] { file->view("y"); }, ErrorKind::kNotFound, {"'y'", path});
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  const std::string path = dir_.file("absent.safetensors");
  expect_error([&] { SafetensorsFile::open(path); }, ErrorKind::kNotFound, {path});
}

TEST_F(SafetensorsTest, FileShorterThanLengthField) {
  expect_open_error({1, 2, 3}, ErrorKind::kCorrupt, {"file is 3 bytes, too short"});
  expect_open_error({}, ErrorKind::kCorrupt, {"file is 0 bytes"}, "empty.safetensors");
}

TEST_F(SafetensorsTest, HeaderLengthBeyondFile) {
  std::vector<uint8_t> bytes = make_raw_safetensors("{}", {});
  bytes[0] = 200;
  expect_open_error(bytes, ErrorKind::kCorrupt, {"header length 200 exceeds the 2 bytes"});
  // A length near 2^64 must not wrap around.
  std::fill(bytes.begin(), bytes.begin() + 8, 0xFF);
  expect_open_error(bytes, ErrorKind::kCorrupt, {"header length 18446744073709551615 exceeds"});
}

TEST_F(SafetensorsTest, TruncatedFile) {
  std::vector<uint8_t> bytes =
      make_safetensors({{"a", "F32", {4}, byte_ramp(16)}, {"b", "F32", {4}, byte_ramp(16)}});
  bytes.resize(bytes.size() - 5);
  expect_open_error(bytes, ErrorKind::kCorrupt,
                    {"tensor 'b'", "data_offsets [16, 32] end past the data section of 27 bytes"});
}

TEST_F(SafetensorsTest, InvalidJson) {
  expect_open_error(make_raw_safetensors("{\"a\": {\"dtype\": ", {}), ErrorKind::kCorrupt,
                    {"header is not valid JSON"});
  expect_open_error(make_raw_safetensors("[1, 2]", {}), ErrorKind::kCorrupt,
                    {"header is a JSON array, not an object"}, "array.safetensors");
}

TEST_F(SafetensorsTest, UnknownDtype) {
  expect_open_error(make_safetensors({{"w", "F7", {2}, byte_ramp(2)}}), ErrorKind::kUnsupported,
                    {"tensor 'w'", "unknown dtype 'F7'"});
}

TEST_F(SafetensorsTest, MalformedEntries) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"w": 5})", "tensor 'w': entry is not a JSON object"},
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "tensor 'w': missing 'dtype'"},
      {R"({"w": {"dtype": 3, "shape": [1], "data_offsets": [0, 4]}})", "'dtype' is not a string"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "tensor 'w': missing 'shape'"},
      {R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", "'shape' is not an array"},
      {R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})",
       "'shape' holds 1.5, not a non-negative integer"},
      {R"({"w": {"dtype": "F32", "shape": [1]}})", "tensor 'w': missing 'data_offsets'"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})",
       "'data_offsets' is not a [begin, end] pair"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 4]}})",
       "negative value -4 in 'data_offsets'"},
      {R"({"__metadata__": {"k": 1}})", "'__metadata__' key 'k' holds number, not a string"},
      {R"({"__metadata__": []})", "'__metadata__' is not a JSON object"},
  };
  int i = 0;
  for (const auto& [header, message] : cases) {
    SCOPED_TRACE(header);
    expect_open_error(make_raw_safetensors(header, byte_ramp(4)), ErrorKind::kCorrupt, {message},
                      "case" + std::to_string(i++) + ".safetensors");
  }
}

TEST_F(SafetensorsTest, NegativeShape) {
  expect_open_error(
      make_raw_safetensors(R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})",
                           byte_ramp(8)),
      ErrorKind::kCorrupt, {"tensor 'w'", "negative value -1 in 'shape'"});
}

TEST_F(SafetensorsTest, RankAboveFourIsUnsupported) {
  expect_open_error(
      make_raw_safetensors(
          R"({"w": {"dtype": "U8", "shape": [1, 1, 1, 1, 1], "data_offsets": [0, 1]}})", {0}),
      ErrorKind::kUnsupported, {"tensor 'w'", "rank 5 exceeds the supported maximum of 4"});
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  expect_open_error(
      make_raw_safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           byte_ramp(8)),
      ErrorKind::kCorrupt,
      {"tensor 'w'", "data_offsets [4, 12] end past the data section of 8 bytes"});
  expect_open_error(
      make_raw_safetensors(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})",
                           byte_ramp(8)),
      ErrorKind::kCorrupt, {"tensor 'w'", "data_offsets [8, 4] begin after end"},
      "reversed.safetensors");
  // Offsets near 2^64 must not wrap around when added to the data offset.
  expect_open_error(
      make_raw_safetensors(
          R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [18446744073709551612, 18446744073709551615]}})",
          byte_ramp(8)),
      ErrorKind::kCorrupt, {"tensor 'w'", "end past the data section"}, "huge.safetensors");
}

TEST_F(SafetensorsTest, SizeMismatch) {
  expect_open_error(
      make_raw_safetensors(R"({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}})",
                           byte_ramp(8)),
      ErrorKind::kCorrupt,
      {"tensor 'w'", "data_offsets [0, 8] hold 8 bytes but shape [3] of BF16 needs 6"});
}

TEST_F(SafetensorsTest, ShapeProductOverflowIsAMismatchNotACrash) {
  expect_open_error(
      make_raw_safetensors(
          R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904], "data_offsets": [0, 0]}})",
          {}),
      ErrorKind::kCorrupt, {"tensor 'w'", "needs more than 2^64"});
  expect_open_error(
      make_raw_safetensors(
          R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", {}),
      ErrorKind::kCorrupt, {"tensor 'w'", "needs more than 2^64"}, "bytes_overflow.safetensors");
}

TEST_F(SafetensorsTest, DeeplyNestedValuesDoNotExhaustTheStack) {
  const int depth = 1000000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  expect_open_error(
      make_raw_safetensors(
          R"({"w": {"dtype": "F32", "shape": )" + nested + R"(, "data_offsets": [0, 0]}})", {}),
      ErrorKind::kCorrupt, {"tensor 'w'", "'shape' holds an array, not a non-negative integer"});
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  expect_open_error(
      make_raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           byte_ramp(12)),
      ErrorKind::kCorrupt, {"tensor 'b'", "data_offsets [4, 12] overlap tensor 'a' at [0, 8]"});
  // Empty tensors occupy no bytes and overlap nothing.
  const std::string path = dir_.file("empty_inside.safetensors");
  write_file(path,
             make_raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                            "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                                  byte_ramp(8)));
  EXPECT_EQ(SafetensorsFile::open(path)->names().size(), 2u);
}

}  // namespace
}  // namespace localmoe
