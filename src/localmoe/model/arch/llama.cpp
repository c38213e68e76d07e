// LlamaForCausalLM / MistralForCausalLM / MixtralForCausalLM tensor names,
// as Hugging Face writes them. Mixtral replaces the MLP by
// block_sparse_moe: a router ("gate") and experts with w1 (gate), w3 (up)
// and w2 (down).

#include <string>

#include "localmoe/model/arch/arch.h"

namespace localmoe {

void bind_llama_weights(const ModelConfig& c, WeightBinder& binder, TransformerWeights& out) {
  const int64_t hidden = c.hidden_size;
  out.token_embedding = binder.matrix("model.embed_tokens.weight", c.vocab_size, hidden);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights layer;
    layer.attention_norm.weight = binder.vector(p + "input_layernorm.weight", hidden);
    AttentionWeights& a = layer.attention;
    a.q.weight = binder.linear(p + "self_attn.q_proj.weight", c.q_dim(), hidden);
    a.k.weight = binder.linear(p + "self_attn.k_proj.weight", c.kv_dim(), hidden);
    a.v.weight = binder.linear(p + "self_attn.v_proj.weight", c.kv_dim(), hidden);
    a.o.weight = binder.linear(p + "self_attn.o_proj.weight", hidden, c.q_dim());
    if (c.attention_bias) {
      a.q.bias = binder.vector(p + "self_attn.q_proj.bias", c.q_dim());
      a.k.bias = binder.vector(p + "self_attn.k_proj.bias", c.kv_dim());
      a.v.bias = binder.vector(p + "self_attn.v_proj.bias", c.kv_dim());
      a.o.bias = binder.vector(p + "self_attn.o_proj.bias", hidden);
    }
    layer.mlp_norm.weight = binder.vector(p + "post_attention_layernorm.weight", hidden);
    if (c.is_moe()) {
      const std::string moe = p + "block_sparse_moe.";
      layer.moe.router.weight = binder.linear(moe + "gate.weight", c.num_experts, hidden);
      for (int64_t e = 0; e < c.num_experts; ++e) {
        const std::string expert = moe + "experts." + std::to_string(e) + ".";
        MlpWeights m;
        m.gate.weight = binder.linear(expert + "w1.weight", c.intermediate_size, hidden);
        m.up.weight = binder.linear(expert + "w3.weight", c.intermediate_size, hidden);
        m.down.weight = binder.linear(expert + "w2.weight", hidden, c.intermediate_size);
        layer.moe.experts.push_back(m);
      }
    } else {
      MlpWeights& m = layer.mlp;
      m.gate.weight = binder.linear(p + "mlp.gate_proj.weight", c.intermediate_size, hidden);
      m.up.weight = binder.linear(p + "mlp.up_proj.weight", c.intermediate_size, hidden);
      m.down.weight = binder.linear(p + "mlp.down_proj.weight", hidden, c.intermediate_size);
      if (c.mlp_bias) {
        m.gate.bias = binder.vector(p + "mlp.gate_proj.bias", c.intermediate_size);
        m.up.bias = binder.vector(p + "mlp.up_proj.bias", c.intermediate_size);
        m.down.bias = binder.vector(p + "mlp.down_proj.bias", hidden);
      }
    }
    out.layers.push_back(std::move(layer));
  }
  out.final_norm.weight = binder.vector("model.norm.weight", hidden);
  out.lm_head.weight = c.tie_word_embeddings
                           ? kernels::Weight::dense(out.token_embedding)
                           : binder.linear("lm_head.weight", c.vocab_size, hidden);
}

}  // namespace localmoe
