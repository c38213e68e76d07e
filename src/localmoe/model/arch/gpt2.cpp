// GPT2LMHeadModel (DialoGPT) tensor names. Checkpoints saved from
// GPT2LMHeadModel prefix them with "transformer.", those saved from
// GPT2Model do not. Conv1D stores weights [in, out]; they are transposed
// once here to the [out, in] layout every matmul uses.

#include <string>

#include "localmoe/model/arch/arch.h"

namespace localmoe {

void bind_gpt2_weights(const ModelConfig& c, WeightBinder& binder, TransformerWeights& out) {
  const std::string root = binder.has("transformer.wte.weight") ? "transformer." : "";
  const int64_t hidden = c.hidden_size;
  out.token_embedding = binder.matrix(root + "wte.weight", c.vocab_size, hidden);
  out.position_embedding = binder.matrix(root + "wpe.weight", c.max_position_embeddings, hidden);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = root + "h." + std::to_string(i) + ".";
    LayerWeights layer;
    layer.attention_norm = {binder.vector(p + "ln_1.weight", hidden),
                            binder.vector(p + "ln_1.bias", hidden)};
    // c_attn packs q, k and v along its output dimension.
    const kernels::Weight qkv =
        binder.matrix_transposed(p + "attn.c_attn.weight", 3 * hidden, hidden);
    const float* qkv_bias = binder.vector(p + "attn.c_attn.bias", 3 * hidden);
    AttentionWeights& a = layer.attention;
    a.q = {qkv.row_slice(0, hidden), qkv_bias};
    a.k = {qkv.row_slice(hidden, hidden), qkv_bias + hidden};
    a.v = {qkv.row_slice(2 * hidden, hidden), qkv_bias + 2 * hidden};
    a.o = {binder.matrix_transposed(p + "attn.c_proj.weight", hidden, hidden),
           binder.vector(p + "attn.c_proj.bias", hidden)};
    layer.mlp_norm = {binder.vector(p + "ln_2.weight", hidden),
                      binder.vector(p + "ln_2.bias", hidden)};
    layer.mlp.up = {binder.matrix_transposed(p + "mlp.c_fc.weight", c.intermediate_size, hidden),
                    binder.vector(p + "mlp.c_fc.bias", c.intermediate_size)};
    layer.mlp.down = {
        binder.matrix_transposed(p + "mlp.c_proj.weight", hidden, c.intermediate_size),
        binder.vector(p + "mlp.c_proj.bias", hidden)};
    out.layers.push_back(layer);
  }
  out.final_norm = {binder.vector(root + "ln_f.weight", hidden),
                    binder.vector(root + "ln_f.bias", hidden)};
  out.lm_head.weight = c.tie_word_embeddings
                           ? kernels::Weight::dense(out.token_embedding)
                           : binder.linear("lm_head.weight", c.vocab_size, hidden);
}

}  // namespace localmoe
