// Every config shipped in configs/ loads and validates, read from disk the
// way `serve` reads it.

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "localmoe/config/config_loader.h"
#include "localmoe/config/hardware.h"

namespace localmoe {
namespace {

namespace fs = std::filesystem;

fs::path configs_dir() {
  return LOCALMOE_CONFIGS_DIR;
}

LoadOptions disk_options(const std::string& arg) {
  LoadOptions o;
  o.config_arg = arg;
  o.getenv = [](const char*) { return std::optional<std::string>(); };
  o.resolve_model = [](const std::string& name) { return find_catalog_model(name); };
  const HardwareSpec l40s = *find_hardware("l40s");
  o.device_memory_bytes = l40s.memory_bytes;
  o.runtime_overhead_bytes = l40s.runtime_overhead_bytes;
  return o;
}

TEST(ShippedConfigs, DefaultConfigLoads) {
  const LoadedConfig loaded = load_config(disk_options((configs_dir() / "config.yaml").string()));
  EXPECT_EQ(loaded.config.engine.model_name, "models/demo");
  EXPECT_DOUBLE_EQ(loaded.config.gpu.memory_limit_gb, 0.0);
}

TEST(ShippedConfigs, SevenL40sProfilesValidate) {
  const fs::path file = configs_dir() / "l40s_quantization_configs.yaml";
  const std::optional<std::string> text = read_config_file(file);
  ASSERT_TRUE(text) << file;
  const std::vector<std::string> profiles = list_profiles(*text);
  for (const char* name : {"large_model_awq", "medium_model_fp8", "small_model_fp16",
                           "code_model_gptq", "high_throughput", "low_latency", "multi_model"}) {
    EXPECT_NE(std::find(profiles.begin(), profiles.end(), name), profiles.end()) << name;
  }
  for (const std::string& profile : profiles) {
    SCOPED_TRACE(profile);
    try {
      const LoadedConfig loaded = load_config(disk_options(file.string() + ":" + profile));
      EXPECT_DOUBLE_EQ(loaded.config.gpu.memory_limit_gb, 44.98);
      if (profile == "l40s_base") continue;
      // Each real profile names a catalog model and reports that it fits.
      bool fits = false;
      for (const ConfigDiagnostic& n : loaded.notices) fits |= n.message.rfind("fits:", 0) == 0;
      EXPECT_TRUE(fits) << testing::dump(loaded.notices);
    } catch (const ConfigError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(ShippedConfigs, ProfilesChooseWhatTheirNamesSay) {
  const std::string file = (configs_dir() / "l40s_quantization_configs.yaml").string();
  auto engine_of = [&](const char* profile) {
    return load_config(disk_options(file + ":" + profile)).config;
  };
  EXPECT_EQ(engine_of("large_model_awq").engine.quantization, Quantization::kAwq);
  EXPECT_EQ(engine_of("medium_model_fp8").engine.quantization, Quantization::kFp8);
  EXPECT_FALSE(engine_of("small_model_fp16").engine.quantization.has_value());
  EXPECT_EQ(engine_of("code_model_gptq").engine.quantization, Quantization::kGptq);
  EXPECT_EQ(engine_of("high_throughput").engine.kv_cache_dtype, KvCacheDtype::kFp8E5M2);
  EXPECT_LE(engine_of("low_latency").engine.max_num_seqs, 16);
  EXPECT_EQ(engine_of("multi_model").instances.size(), 2u);
}

}  // namespace
}  // namespace localmoe
