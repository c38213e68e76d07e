#include "localmoe/loader/parameter_census.h"

#include <gtest/gtest.h>

#include "localmoe/loader/in_memory_source.h"

namespace localmoe {
namespace {

TEST(ClassifyTensorTest, LlamaMistralMixtralNames) {
  const std::pair<std::string_view, ParameterPart> cases[] = {
      {"model.embed_tokens.weight", ParameterPart::kEmbeddings},
      {"model.layers.0.self_attn.q_proj.weight", ParameterPart::kAttention},
      {"model.layers.31.self_attn.o_proj.bias", ParameterPart::kAttention},
      {"model.layers.3.self_attn.rotary_emb.inv_freq", ParameterPart::kOther},
      {"model.layers.0.mlp.gate_proj.weight", ParameterPart::kMlp},
      {"model.layers.0.mlp.down_proj.qweight", ParameterPart::kMlp},
      {"model.layers.7.block_sparse_moe.experts.5.w1.weight", ParameterPart::kExperts},
      {"model.layers.7.block_sparse_moe.experts.0.w2.weight", ParameterPart::kExperts},
      {"model.layers.7.block_sparse_moe.gate.weight", ParameterPart::kRouter},
      {"model.layers.0.input_layernorm.weight", ParameterPart::kNorms},
      {"model.layers.0.post_attention_layernorm.weight", ParameterPart::kNorms},
      {"model.norm.weight", ParameterPart::kNorms},
      {"lm_head.weight", ParameterPart::kLmHead},
      {"model.layers.x.mlp.up_proj.weight", ParameterPart::kOther},
      {"model.layers.0", ParameterPart::kOther},
      {"something_else", ParameterPart::kOther},
  };
  for (const auto& [name, part] : cases) {
    EXPECT_EQ(parameter_part_name(classify_tensor(name)), parameter_part_name(part)) << name;
  }
}

TEST(ClassifyTensorTest, Gpt2NamesWithAndWithoutPrefix) {
  for (std::string prefix : {"", "transformer."}) {
    const std::pair<std::string, ParameterPart> cases[] = {
        {prefix + "wte.weight", ParameterPart::kEmbeddings},
        {prefix + "wpe.weight", ParameterPart::kEmbeddings},
        {prefix + "h.0.ln_1.weight", ParameterPart::kNorms},
        {prefix + "h.0.ln_2.bias", ParameterPart::kNorms},
        {prefix + "h.11.attn.c_attn.weight", ParameterPart::kAttention},
        {prefix + "h.11.attn.c_proj.bias", ParameterPart::kAttention},
        {prefix + "h.2.attn.bias", ParameterPart::kOther},
        {prefix + "h.2.attn.masked_bias", ParameterPart::kOther},
        {prefix + "h.2.mlp.c_fc.weight", ParameterPart::kMlp},
        {prefix + "h.2.mlp.c_proj.weight", ParameterPart::kMlp},
        {prefix + "ln_f.weight", ParameterPart::kNorms},
    };
    for (const auto& [name, part] : cases) {
      EXPECT_EQ(parameter_part_name(classify_tensor(name)), parameter_part_name(part)) << name;
    }
  }
  EXPECT_EQ(classify_tensor("lm_head.weight"), ParameterPart::kLmHead);
}

TEST(ParameterCensusTest, CountsPartsDtypesAndBytes) {
  Allocator allocator;
  InMemoryTensorSource source(allocator);
  source.add("model.embed_tokens.weight", DType::kBF16, Shape{10, 4});
  source.add("model.layers.0.self_attn.q_proj.weight", DType::kBF16, Shape{4, 4});
  source.add("model.layers.0.self_attn.k_proj.weight", DType::kBF16, Shape{2, 4});
  source.add("model.layers.0.block_sparse_moe.gate.weight", DType::kF32, Shape{3, 4});
  for (int e = 0; e < 3; ++e) {
    source.add("model.layers.0.block_sparse_moe.experts." + std::to_string(e) + ".w1.weight",
               DType::kBF16, Shape{6, 4});
  }
  source.add("model.layers.0.input_layernorm.weight", DType::kF32, Shape{4});
  source.add("model.norm.weight", DType::kF32, Shape{4});
  source.add("lm_head.weight", DType::kBF16, Shape{10, 4});
  source.add("model.layers.0.self_attn.rotary_emb.inv_freq", DType::kF32, Shape{2});

  const ParameterCensus census = take_parameter_census(source);
  EXPECT_EQ(census.params(ParameterPart::kEmbeddings), 40);
  EXPECT_EQ(census.params(ParameterPart::kAttention), 24);
  EXPECT_EQ(census.params(ParameterPart::kMlp), 0);
  EXPECT_EQ(census.params(ParameterPart::kExperts), 72);
  EXPECT_EQ(census.params(ParameterPart::kRouter), 12);
  EXPECT_EQ(census.params(ParameterPart::kNorms), 8);
  EXPECT_EQ(census.params(ParameterPart::kLmHead), 40);
  EXPECT_EQ(census.params(ParameterPart::kOther), 2);
  EXPECT_EQ(census.total_params, 198);
  EXPECT_EQ(census.num_tensors, 11);

  ASSERT_EQ(census.dtypes.size(), 2u);
  EXPECT_EQ(census.dtypes[0].dtype, DType::kF32);  // DType order: F32 before BF16
  EXPECT_EQ(census.dtypes[0].num_tensors, 4);
  EXPECT_EQ(census.dtypes[0].num_bytes, (12u + 4 + 4 + 2) * 4);
  EXPECT_EQ(census.dtypes[1].dtype, DType::kBF16);
  EXPECT_EQ(census.dtypes[1].num_tensors, 7);
  EXPECT_EQ(census.dtypes[1].num_bytes, (40u + 16 + 8 + 72 + 40) * 2);
  EXPECT_EQ(census.total_bytes, census.dtypes[0].num_bytes + census.dtypes[1].num_bytes);
}

}  // namespace
}  // namespace localmoe
