#include "localmoe/base/mmap_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

TEST(MappedFile, MapsContentAndNamesMissingFiles) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "localmoe_mmap_test.bin").string();
  std::ofstream(path, std::ios::binary) << "hello";
  const MappedFile file = MappedFile::open(path);
  ASSERT_EQ(file.size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file.data()), 5), "hello");
  std::remove(path.c_str());
  try {
    MappedFile::open("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace localmoe
