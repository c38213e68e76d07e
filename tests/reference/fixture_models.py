"""The tiny checkpoints the C++ forward-pass tests run: their HF configs, their
deterministic random weights, and the shared prompt. Sizes are small enough
for a float64 numpy oracle to run in well under a second per model, yet use
every feature the engine must get right (GQA, rope_theta, linear RoPE scaling,
sliding window, tied embeddings, BF16, sharding, MoE routing, GPT-2 Conv1D)."""

import numpy as np

TRANSFORMERS_VERSION = "4.46.3"
BOS_TOKEN_ID = 1
EOS_TOKEN_ID = 2

VOCAB = 96
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 16
INTERMEDIATE = 160
MAX_POSITIONS = 128

# With tied embeddings a token's own embedding, still in the residual stream,
# makes it its own best successor; small embeddings keep the greedy
# continuation from collapsing into one repeated token.
TIED_EMBED_STD = 0.1
PROMPT_LEN = 12
GREEDY_STEPS = 32
SLIDING_WINDOW = 5


def prompt_ids():
    """The T=12 prompt shared by every model: BOS then 11 fixed ordinary tokens
    (ids 0..2 are reserved for unk/bos/eos)."""
    rng = np.random.default_rng(20240501)
    return [BOS_TOKEN_ID] + [int(t) for t in rng.integers(3, VOCAB, size=PROMPT_LEN - 1)]


class FixtureSpec:
    """One fixture model: directory name, HF config, storage dtype, shard count
    and the seed of its weights."""

    def __init__(self, name, config, dtype, num_shards, seed):
        self.name = name
        self.config = config
        self.dtype = dtype          # "F32" or "BF16"
        self.num_shards = num_shards
        self.seed = seed


# ---------------------------------------------------------------- configs
# Keys as transformers' save_pretrained writes them for each class (4.4x):
# every class-specific attribute, plus the PretrainedConfig ones that differ
# from the base defaults. GPT-2 therefore carries no tie_word_embeddings key
# (its default, true, is the base default).

def _llama_like_common(torch_dtype, rms_norm_eps, rope_theta, tie):
    return {
        "attention_dropout": 0.0,
        "bos_token_id": BOS_TOKEN_ID,
        "eos_token_id": EOS_TOKEN_ID,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": MAX_POSITIONS,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": rms_norm_eps,
        "rope_theta": rope_theta,
        "tie_word_embeddings": tie,
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def llama_config(torch_dtype, rms_norm_eps, rope_theta, tie, rope_scaling):
    config = _llama_like_common(torch_dtype, rms_norm_eps, rope_theta, tie)
    config.update({
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "mlp_bias": False,
        "model_type": "llama",
        "pretraining_tp": 1,
        "rope_scaling": rope_scaling,
    })
    return config


def mistral_config(torch_dtype, rms_norm_eps, rope_theta, sliding_window):
    config = _llama_like_common(torch_dtype, rms_norm_eps, rope_theta, False)
    config.update({
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "sliding_window": sliding_window,
    })
    return config


def mixtral_config(torch_dtype, rms_norm_eps, rope_theta, num_experts, top_k):
    config = _llama_like_common(torch_dtype, rms_norm_eps, rope_theta, False)
    config.update({
        "architectures": ["MixtralForCausalLM"],
        "model_type": "mixtral",
        "num_experts_per_tok": top_k,
        "num_local_experts": num_experts,
        "output_router_logits": False,
        "router_aux_loss_coef": 0.02,
        "router_jitter_noise": 0.0,
        "sliding_window": None,
    })
    return config


def gpt2_config(torch_dtype):
    # DialoGPT's config.json, scaled down (n_inner null: the MLP is 4 * n_embd).
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": BOS_TOKEN_ID,
        "embd_pdrop": 0.1,
        "eos_token_id": EOS_TOKEN_ID,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": MAX_POSITIONS,
        "n_embd": HIDDEN,
        "n_head": HEADS,
        "n_inner": None,
        "n_layer": LAYERS,
        "n_positions": MAX_POSITIONS,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "task_specific_params": {"conversational": {"max_length": 1000}},
        "torch_dtype": torch_dtype,
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": VOCAB,
    }


def generation_config():
    return {
        "_from_model_config": True,
        "bos_token_id": BOS_TOKEN_ID,
        "eos_token_id": EOS_TOKEN_ID,
        "transformers_version": TRANSFORMERS_VERSION,
    }


# Seeds were picked so that every greedy step and every expert choice clears
# make_fixtures.MIN_RELATIVE_MARGIN and the continuation is not one repeated
# token; make_fixtures asserts both, so a changed generator fails loudly.
SPECS = [
    FixtureSpec("llama_f32",
                llama_config("float32", 1e-05, 500000.0, tie=False, rope_scaling=None),
                "F32", num_shards=1, seed=1001),
    FixtureSpec("llama_bf16",
                llama_config("bfloat16", 1e-05, 10000.0, tie=True,
                             rope_scaling={"factor": 2.0, "type": "linear"}),
                "BF16", num_shards=2, seed=1002),
    FixtureSpec("mistral_f32",
                mistral_config("float32", 1e-06, 10000.0, SLIDING_WINDOW),
                "F32", num_shards=1, seed=1011),
    FixtureSpec("mistral_bf16",
                mistral_config("bfloat16", 1e-06, 10000.0, SLIDING_WINDOW),
                "BF16", num_shards=1, seed=1004),
    FixtureSpec("gpt2_f32", gpt2_config("float32"), "F32", num_shards=1, seed=1003),
    FixtureSpec("mixtral_f32",
                mixtral_config("float32", 1e-05, 1000000.0, num_experts=4, top_k=2),
                "F32", num_shards=1, seed=1006),
]


# ---------------------------------------------------------------- weights

def _llama_like_shapes(config):
    hidden = config["hidden_size"]
    q_dim = config["num_attention_heads"] * config["head_dim"]
    kv_dim = config["num_key_value_heads"] * config["head_dim"]
    inter = config["intermediate_size"]
    shapes = {"model.embed_tokens.weight": (config["vocab_size"], hidden),
              "model.norm.weight": (hidden,)}
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (config["vocab_size"], hidden)
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        shapes[p + "input_layernorm.weight"] = (hidden,)
        shapes[p + "post_attention_layernorm.weight"] = (hidden,)
        shapes[p + "self_attn.q_proj.weight"] = (q_dim, hidden)
        shapes[p + "self_attn.k_proj.weight"] = (kv_dim, hidden)
        shapes[p + "self_attn.v_proj.weight"] = (kv_dim, hidden)
        shapes[p + "self_attn.o_proj.weight"] = (hidden, q_dim)
        if config["model_type"] == "mixtral":
            m = p + "block_sparse_moe."
            shapes[m + "gate.weight"] = (config["num_local_experts"], hidden)
            for e in range(config["num_local_experts"]):
                shapes[f"{m}experts.{e}.w1.weight"] = (inter, hidden)
                shapes[f"{m}experts.{e}.w2.weight"] = (hidden, inter)
                shapes[f"{m}experts.{e}.w3.weight"] = (inter, hidden)
        else:
            shapes[p + "mlp.gate_proj.weight"] = (inter, hidden)
            shapes[p + "mlp.up_proj.weight"] = (inter, hidden)
            shapes[p + "mlp.down_proj.weight"] = (hidden, inter)
    return shapes


def _gpt2_shapes(config):
    hidden = config["n_embd"]
    inner = config["n_inner"] or 4 * hidden
    shapes = {"transformer.wte.weight": (config["vocab_size"], hidden),
              "transformer.wpe.weight": (config["n_positions"], hidden),
              "transformer.ln_f.weight": (hidden,),
              "transformer.ln_f.bias": (hidden,)}
    for layer in range(config["n_layer"]):
        p = f"transformer.h.{layer}."
        for ln in ("ln_1", "ln_2"):
            shapes[p + ln + ".weight"] = (hidden,)
            shapes[p + ln + ".bias"] = (hidden,)
        # Conv1D weights are [in, out].
        shapes[p + "attn.c_attn.weight"] = (hidden, 3 * hidden)
        shapes[p + "attn.c_attn.bias"] = (3 * hidden,)
        shapes[p + "attn.c_proj.weight"] = (hidden, hidden)
        shapes[p + "attn.c_proj.bias"] = (hidden,)
        shapes[p + "mlp.c_fc.weight"] = (hidden, inner)
        shapes[p + "mlp.c_fc.bias"] = (inner,)
        shapes[p + "mlp.c_proj.weight"] = (inner, hidden)
        shapes[p + "mlp.c_proj.bias"] = (hidden,)
    return shapes


def _llama_like_sample(rng, name, shape, tied):
    # Scales keep activations O(1) and spread the logits over several units,
    # so greedy choices are far from ties; q/k are a little larger so the
    # attention pattern (hence RoPE and masking) visibly shapes the output.
    if name.endswith("norm.weight"):
        return rng.uniform(0.75, 1.25, size=shape)
    if name == "model.embed_tokens.weight":
        return rng.standard_normal(shape) * (TIED_EMBED_STD if tied else 0.5)
    if name == "lm_head.weight":
        return rng.standard_normal(shape) * 0.5
    fan_in = shape[1]
    gain = 1.0
    if name.endswith(("q_proj.weight", "k_proj.weight")):
        gain = 1.5
    elif name.endswith("block_sparse_moe.gate.weight"):
        gain = 2.0
    return rng.standard_normal(shape) * (gain / np.sqrt(fan_in))


def _gpt2_sample(rng, name, shape, tied):
    if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
        return rng.uniform(0.75, 1.25, size=shape)
    if name.endswith(".bias"):
        return rng.standard_normal(shape) * 0.1
    if name == "transformer.wte.weight":
        return rng.standard_normal(shape) * TIED_EMBED_STD
    if name == "transformer.wpe.weight":
        return rng.standard_normal(shape) * 0.2
    fan_in = shape[0]
    gain = 1.5 if name.endswith("c_attn.weight") else 1.0
    return rng.standard_normal(shape) * (gain / np.sqrt(fan_in))


def make_weights(spec):
    """name -> float32 array, drawn in sorted-name order from the spec's seed."""
    if spec.config["model_type"] == "gpt2":
        shapes, sample = _gpt2_shapes(spec.config), _gpt2_sample
    else:
        shapes, sample = _llama_like_shapes(spec.config), _llama_like_sample
    tied = spec.config.get("tie_word_embeddings", True)
    rng = np.random.default_rng(spec.seed)
    return {name: sample(rng, name, shapes[name], tied).astype(np.float32) for name in sorted(shapes)}
