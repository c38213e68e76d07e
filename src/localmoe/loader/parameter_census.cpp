#include "localmoe/loader/parameter_census.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

struct PrefixRule {
  std::string_view prefix;
  ParameterPart part;
};

// Inside a transformer block, after "layers.N." (Llama family) or "h.N."
// (GPT-2). The first matching prefix wins.
constexpr PrefixRule kLayerRules[] = {
    {"self_attn.rotary_emb.", ParameterPart::kOther},
    {"self_attn.", ParameterPart::kAttention},
    {"block_sparse_moe.experts.", ParameterPart::kExperts},
    {"block_sparse_moe.gate.", ParameterPart::kRouter},
    {"mlp.", ParameterPart::kMlp},
    {"input_layernorm.", ParameterPart::kNorms},
    {"post_attention_layernorm.", ParameterPart::kNorms},
    {"attn.c_attn.", ParameterPart::kAttention},
    {"attn.c_proj.", ParameterPart::kAttention},
    {"ln_1.", ParameterPart::kNorms},
    {"ln_2.", ParameterPart::kNorms},
};

// Outside the blocks, after the optional "model." / "transformer." prefix.
constexpr PrefixRule kTopRules[] = {
    {"embed_tokens.", ParameterPart::kEmbeddings},
    {"wte.", ParameterPart::kEmbeddings},
    {"wpe.", ParameterPart::kEmbeddings},
    {"norm.", ParameterPart::kNorms},
    {"ln_f.", ParameterPart::kNorms},
};

bool consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

// Removes "<digits>." from the front of `text`.
bool consume_index(std::string_view& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits == text.size() || text[digits] != '.') return false;
  text.remove_prefix(digits + 1);
  return true;
}

template <size_t N>
ParameterPart match(std::string_view rest, const PrefixRule (&rules)[N]) {
  for (const PrefixRule& rule : rules) {
    if (rest.starts_with(rule.prefix)) return rule.part;
  }
  return ParameterPart::kOther;
}

}  // namespace

std::string_view parameter_part_name(ParameterPart part) {
  switch (part) {
    case ParameterPart::kEmbeddings: return "embeddings";
    case ParameterPart::kAttention: return "attention";
    case ParameterPart::kMlp: return "mlp";
    case ParameterPart::kExperts: return "experts";
    case ParameterPart::kRouter: return "router";
    case ParameterPart::kNorms: return "norms";
    case ParameterPart::kLmHead: return "lm_head";
    case ParameterPart::kOther: return "other";
  }
  return "other";
}

ParameterPart classify_tensor(std::string_view name) {
  if (name.starts_with("lm_head.")) return ParameterPart::kLmHead;
  std::string_view rest = name;
  if (!consume(rest, "model.")) consume(rest, "transformer.");
  std::string_view block = rest;
  if ((consume(block, "layers.") || consume(block, "h.")) && consume_index(block)) {
    return match(block, kLayerRules);
  }
  return match(rest, kTopRules);
}

ParameterCensus take_parameter_census(const TensorSource& source) {
  ParameterCensus census;
  for (const std::string& name : source.names()) {
    const TensorInfo* info = source.find(name);
    LM_CHECK(info != nullptr);  // names() lists only tensors find() knows
    const int64_t elements = info->shape.num_elements();
    census.num_params[static_cast<int>(classify_tensor(name))] += elements;
    census.num_tensors += 1;
    census.total_params += elements;
    census.total_bytes += info->num_bytes;
    auto tally = std::find_if(census.dtypes.begin(), census.dtypes.end(),
                              [&](const DTypeTally& t) { return t.dtype == info->dtype; });
    if (tally == census.dtypes.end()) {
      census.dtypes.push_back(DTypeTally{info->dtype, 0, 0});
      tally = census.dtypes.end() - 1;
    }
    tally->num_tensors += 1;
    tally->num_bytes += info->num_bytes;
  }
  std::sort(census.dtypes.begin(), census.dtypes.end(),
            [](const DTypeTally& a, const DTypeTally& b) { return a.dtype < b.dtype; });
  return census;
}

}  // namespace localmoe
