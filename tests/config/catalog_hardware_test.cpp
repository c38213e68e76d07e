// The model catalog, checkpoint quantization from config.json, local model
// directories, and the hardware database.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "localmoe/base/error.h"
#include "localmoe/config/hardware.h"
#include "localmoe/config/model_catalog.h"

namespace localmoe {
namespace {

namespace fs = std::filesystem;

TEST(ModelCatalog, FindsByIdBasenameAndShortName) {
  ASSERT_TRUE(find_catalog_model("meta-llama/Llama-2-70b-chat-hf"));
  EXPECT_EQ(find_catalog_model("llama-2-70b-chat-hf")->id, "meta-llama/Llama-2-70b-chat-hf");
  EXPECT_EQ(find_catalog_model("MIXTRAL-8x7b")->arch.num_experts, 8);
  EXPECT_EQ(find_catalog_model("dialogpt-medium")->arch.arch, ModelArch::kGpt2);
  EXPECT_FALSE(find_catalog_model("gpt-5"));
  // Every seeds' model is known.
  for (const char* id :
       {"meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-13b-chat-hf",
        "mistralai/Mistral-7B-Instruct-v0.2", "codellama/CodeLlama-13b-Instruct-hf",
        "microsoft/DialoGPT-medium", "TheBloke/Llama-2-70B-Chat-AWQ"}) {
    EXPECT_TRUE(find_catalog_model(id)) << id;
  }
  for (const ModelSpec& m : model_catalog()) {
    EXPECT_EQ(m.arch.head_dim * m.arch.num_heads, m.arch.hidden_size) << m.id;
    EXPECT_EQ(m.arch.num_heads % m.arch.num_kv_heads, 0) << m.id;
  }
}

TEST(ModelCatalog, ParsesCheckpointQuantization) {
  using nlohmann::json;
  EXPECT_EQ(parse_checkpoint_quantization(json::object(), "c.json").format, WeightFormat::kNone);
  const CheckpointQuantization awq = parse_checkpoint_quantization(
      json::parse(
          R"({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}})"),
      "c.json");
  EXPECT_EQ(awq.format, WeightFormat::kAwq);
  EXPECT_EQ(awq.bits, 4);
  EXPECT_EQ(awq.group_size, 128);
  // AutoAWQ's older spelling.
  const CheckpointQuantization old = parse_checkpoint_quantization(
      json::parse(
          R"({"quantization_config": {"quant_method": "awq", "w_bit": 4, "q_group_size": 64}})"),
      "c.json");
  EXPECT_EQ(old.group_size, 64);
  const CheckpointQuantization gptq = parse_checkpoint_quantization(
      json::parse(
          R"({"quantization_config": {"quant_method": "gptq", "bits": 8, "group_size": -1}})"),
      "c.json");
  EXPECT_EQ(gptq.format, WeightFormat::kGptq);
  EXPECT_EQ(gptq.bits, 8);
  EXPECT_EQ(gptq.group_size, -1);
  EXPECT_EQ(parse_checkpoint_quantization(
                json::parse(R"({"quantization_config": {"quant_method": "fp8"}})"), "c")
                .format,
            WeightFormat::kFp8);

  auto error_of = [](const char* text) {
    try {
      parse_checkpoint_quantization(json::parse(text), "c.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(
      error_of(R"({"quantization_config": {"quant_method": "squeezellm"}})").find("not supported"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"quantization_config": {"quant_method": "awq", "bits": 3}})").find("bits 3"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"quantization_config": {"quant_method": "gptq", "group_size": 0}})")
                .find("group_size 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quantization_config": 5})").find("file 'c.json'"), std::string::npos);
}

TEST(ModelCatalog, ResolvesLocalDirectoriesBeforeTheCatalog) {
  const fs::path dir =
      fs::temp_directory_path() / ("localmoe_catalog_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "org" / "tiny");
  std::ofstream(dir / "org" / "tiny" / "config.json") << R"({
    "architectures": ["LlamaForCausalLM"], "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
    "rms_norm_eps": 1e-5, "torch_dtype": "float16",
    "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 32}})";
  const std::optional<ModelSpec> spec = resolve_model("org/tiny", dir);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->arch.hidden_size, 64);
  EXPECT_EQ(spec->arch.num_kv_heads, 2);
  EXPECT_EQ(spec->checkpoint.format, WeightFormat::kAwq);
  EXPECT_EQ(spec->checkpoint.group_size, 32);
  EXPECT_EQ(resolve_model((dir / "org" / "tiny").string(), "unused")->arch.num_layers, 2);
  // Not a directory: the catalog answers; neither: nothing.
  EXPECT_EQ(resolve_model("mistral-7b", dir)->id, "mistralai/Mistral-7B-Instruct-v0.2");
  EXPECT_FALSE(resolve_model("org/absent", dir));
  fs::remove_all(dir);
}

TEST(Hardware, DatabaseHoldsDatasheetFigures) {
  const HardwareSpec l40s = *find_hardware("L40S");
  EXPECT_EQ(l40s.memory_bytes, int64_t{46068} << 20);
  EXPECT_DOUBLE_EQ(l40s.bandwidth_gb_s, 864);
  EXPECT_TRUE(l40s.native_fp8);
  EXPECT_NE(l40s.interconnect.find("no NVLink"), std::string::npos);
  EXPECT_FALSE(find_hardware("a100-40gb")->native_fp8);
  EXPECT_DOUBLE_EQ(find_hardware("h100-sxm")->bandwidth_gb_s, 3350);
  EXPECT_DOUBLE_EQ(find_hardware("h200")->bandwidth_gb_s, 4800);
  EXPECT_DOUBLE_EQ(find_hardware("rtx4090")->bandwidth_gb_s, 1008);
  EXPECT_DOUBLE_EQ(find_hardware("l4")->bandwidth_gb_s, 300);
  EXPECT_FALSE(find_hardware("tpu"));
  for (const HardwareSpec& h : gpu_database()) {
    EXPECT_FALSE(h.source.empty()) << h.id;
    EXPECT_GT(h.fp16_tflops, 0) << h.id;
    EXPECT_EQ(h.native_fp8, h.fp8_tflops > 0) << h.id;
  }
  EXPECT_EQ(hardware_ids().back(), "cpu");
}

TEST(Hardware, ProbesTheLocalCpu) {
  const HardwareSpec cpu = probe_local_cpu(int64_t{8} << 20);
  EXPECT_TRUE(cpu.is_cpu);
  EXPECT_GE(cpu.cores, 1);
  EXPECT_EQ(cpu.memory_bytes, local_ram_bytes());
  EXPECT_GT(cpu.memory_bytes, int64_t{256} << 20);
  // A read probe that verified its checksum: any working machine reads over 0.1 GB/s.
  EXPECT_GT(cpu.bandwidth_gb_s, 0.1);
  EXPECT_EQ(cpu.runtime_overhead_bytes, 0);
}

}  // namespace
}  // namespace localmoe
